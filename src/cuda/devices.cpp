// Device discovery through the CUDA runtime (compiled only when the CUDA backend is built).
#include "ff/devices.hpp"

#include <cuda_runtime.h>

namespace ff {

std::vector<CudaDeviceInfo> list_cuda_devices(std::string* why_none) {
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

}  // namespace ff
