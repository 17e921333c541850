// --device auto|cuda|cpu: which backend a run gets, and why.
#include <iostream>

#include "ff/backend.hpp"
#include "ff/devices.hpp"
#include "ff/error.hpp"

#ifdef FF_HAVE_CUDA
#include "cuda/cuda_backend.hpp"
#endif

namespace ff {

bool cuda_compiled_in() {
#ifdef FF_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

#ifndef FF_HAVE_CUDA
std::vector<CudaDeviceInfo> list_cuda_devices(std::string* why_none) {
  if (why_none) *why_none = "this ffcuda was built without CUDA (nvcc was not found at build time)";
  return {};
}
#endif

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return make_cpu_backend();
  require(device == "auto" || device == "cuda",
          "unknown --device '" + device + "': use auto, cuda or cpu");
  std::string why;
  const std::vector<CudaDeviceInfo> devices = list_cuda_devices(&why);
#ifdef FF_HAVE_CUDA
  if (!devices.empty()) return make_cuda_backend(devices.front().index);
#endif
  if (device == "cuda") {
    throw Error("--device cuda: no usable CUDA device (" + why + "); use --device cpu or auto");
  }
  std::cerr << "ffcuda: no usable CUDA device (" << why << "); running on the CPU\n";
  return make_cpu_backend();
}

}  // namespace ff
