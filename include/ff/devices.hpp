// What CUDA devices this build can see, for `ffcuda devices` and --device auto.
#pragma once

#include <string>
#include <vector>

namespace ff {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  size_t total_memory = 0, free_memory = 0;
  int multiprocessors = 0;
};

// The devices the CUDA runtime reports. Empty with `why_none` set when there are none, the driver
// is missing, or the build has no CUDA.
std::vector<CudaDeviceInfo> list_cuda_devices(std::string* why_none);

}  // namespace ff
