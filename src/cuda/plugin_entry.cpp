// The plugin's side of include/ff/cuda_plugin.hpp: device discovery through the CUDA runtime and
// the backend factory, behind the one exported entry point.
#include <cuda_runtime.h>

#include "cuda_backend.hpp"
#include "ff/cuda_plugin.hpp"
#include "ff/devices.hpp"

namespace ff {
namespace {

std::vector<CudaDeviceInfo> runtime_devices(std::string* why_none) {
  std::vector<CudaDeviceInfo> devices;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    if (why_none) *why_none = std::string("CUDA runtime: ") + cudaGetErrorString(status);
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return devices;
  }
  // Free memory needs each device's context; put the caller back on its device afterwards (a
  // listing must not leave the thread bound to the last GPU).
  int previous = 0;
  const bool restore = cudaGetDevice(&previous) == cudaSuccess;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo info;
    info.index = i;
    info.name = prop.name;
    info.major = prop.major;
    info.minor = prop.minor;
    info.total_memory = prop.totalGlobalMem;
    info.multiprocessors = prop.multiProcessorCount;
    if (cudaSetDevice(i) == cudaSuccess) {
      size_t free_bytes = 0, total_bytes = 0;
      if (cudaMemGetInfo(&free_bytes, &total_bytes) == cudaSuccess) info.free_memory = free_bytes;
    }
    devices.push_back(info);
  }
  if (restore && count > 0) cudaSetDevice(previous);
  if (devices.empty() && why_none) *why_none = "the CUDA runtime reports no device";
  return devices;
}

}  // namespace
}  // namespace ff

// The plugin is compiled with hidden visibility: this is the only symbol it exports, so nothing
// inside it can be interposed by, or clash with, the engine's own symbols.
extern "C" __attribute__((visibility("default"))) const ff::CudaPlugin* ffcuda_cuda_plugin() {
  // version() is core's; the plugin records the one it was compiled against instead, so that a
  // plugin beside another build's libff_core.so is recognised as foreign.
  static const ff::CudaPlugin plugin{ff::kCudaPluginAbi, FF_VERSION, &ff::runtime_devices,
                                     &ff::new_cuda_backend};
  return &plugin;
}
