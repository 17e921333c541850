// The contract between the engine and its CUDA backend, which is built as a plugin of its own
// (libffcuda_cuda.so, beside libff_core.so) and loaded with dlopen only when the NVIDIA driver
// reports a device. So an ffcuda built with CUDA starts, and runs on the CPU, on a machine without
// the CUDA libraries, and a process that never uses a GPU never pays their start-up.
//
// The plugin and the engine are built together from the same sources, so C++ types cross the
// boundary as they are; kCudaPluginAbi and the engine version guard against mixing builds.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ff/backend.hpp"
#include "ff/devices.hpp"

namespace ff {

// Change when Backend, CudaDeviceInfo or CudaPlugin change shape: an older plugin is then refused.
inline constexpr int kCudaPluginAbi = 1;
inline constexpr const char* kCudaPluginFile = "libffcuda_cuda.so";
inline constexpr const char* kCudaPluginEntry = "ffcuda_cuda_plugin";

struct CudaPlugin {
  int abi = 0;                           // kCudaPluginAbi of the plugin's build
  const char* engine_version = nullptr;  // ff::version() of the plugin's build
  std::vector<CudaDeviceInfo> (*list_devices)(std::string* why_none) = nullptr;
  std::unique_ptr<Backend> (*make_backend)(int device) = nullptr;
};

// Where the plugin would be loaded from (beside libff_core.so), and why it cannot be loaded: empty
// when it loads. Tries to load it (once per process) whatever the driver says, so that
// `ffcuda devices` can tell a missing CUDA library from a missing GPU.
std::string cuda_plugin_path();
std::string cuda_plugin_load_error();

// A CUDA backend on `device` from the plugin; throws ff::Error when the plugin cannot be loaded.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace ff

// The one symbol the plugin exports; C linkage gives it a fixed name for dlsym.
extern "C" const ff::CudaPlugin* ffcuda_cuda_plugin();
