// --device auto|cuda|cpu: which backend a run gets, and why. It lives with the CPU backend because
// the CPU is every run's fallback; the CUDA backend is reached through its plugin (core).
#include <iostream>

#include "ff/backend.hpp"
#include "ff/cuda_plugin.hpp"
#include "ff/devices.hpp"
#include "ff/error.hpp"

namespace ff {

std::unique_ptr<Backend> make_backend(const std::string& device) {
  if (device == "cpu") return make_cpu_backend();
  require(device == "auto" || device == "cuda",
          "unknown --device '" + device + "': use auto, cuda or cpu");
  std::string why;
  const std::vector<CudaDeviceInfo> devices = list_cuda_devices(&why);
  if (!devices.empty()) return make_cuda_backend(devices.front().index);
  if (device == "cuda") {
    throw Error("--device cuda: no usable CUDA device (" + why + "); use --device cpu or auto");
  }
  std::cerr << "ffcuda: no usable CUDA device (" << why << "); running on the CPU\n";
  return make_cpu_backend();
}

}  // namespace ff
