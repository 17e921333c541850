// Finding and loading the CUDA backend plugin, and asking the NVIDIA driver first whether there is
// anything to load it for. The driver is asked through libcuda.so.1 (what every CUDA program ends
// up loading), which is small and present exactly where a GPU can be used; the plugin, with the
// CUDA runtime and cuBLAS(Lt) behind it, is loaded only when the driver reports a device.
#include "ff/cuda_plugin.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <mutex>

#include "ff/backend.hpp"
#include "ff/devices.hpp"
#include "ff/error.hpp"
#include "ff/version.hpp"

namespace ff {

bool cuda_compiled_in() {
#ifdef FF_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

namespace {

constexpr const char* kBuiltWithoutCuda =
    "this ffcuda was built without CUDA (nvcc was not found at build time)";

std::string last_dl_error() {
  const char* message = dlerror();
  return message ? message : "unknown dynamic loader error";
}

// The driver's own count of devices, or an explanation of why there is none. The two entry points
// are declared here by hand (CUresult is an int, 0 = success) so that core needs no CUDA header.
int driver_device_count(std::string* why_none) {
  using CuInit = int (*)(unsigned);
  using CuDeviceGetCount = int (*)(int*);
  using CuGetErrorString = int (*)(int, const char**);
  // Kept open for the process's life: the CUDA runtime loads the same library if a backend starts.
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    *why_none = "no NVIDIA driver (libcuda.so.1 not found)";
    return 0;
  }
  auto cu_init = reinterpret_cast<CuInit>(dlsym(driver, "cuInit"));
  auto cu_count = reinterpret_cast<CuDeviceGetCount>(dlsym(driver, "cuDeviceGetCount"));
  auto cu_error = reinterpret_cast<CuGetErrorString>(dlsym(driver, "cuGetErrorString"));
  if (!cu_init || !cu_count) {
    *why_none = "libcuda.so.1 lacks cuInit/cuDeviceGetCount: not a usable NVIDIA driver";
    return 0;
  }
  const auto explain = [&](int status) {
    const char* text = nullptr;
    if (cu_error) cu_error(status, &text);
    return text ? std::string(text) : "CUresult " + std::to_string(status);
  };
  if (const int status = cu_init(0); status != 0) {
    *why_none = "NVIDIA driver: cuInit failed: " + explain(status);
    return 0;
  }
  int count = 0;
  if (const int status = cu_count(&count); status != 0) {
    *why_none = "NVIDIA driver: cuDeviceGetCount failed: " + explain(status);
    return 0;
  }
  if (count == 0) *why_none = "the NVIDIA driver reports no device";
  return count;
}

struct LoadedPlugin {
  std::string path;
  const CudaPlugin* api = nullptr;
  std::string error;  // why api is null
};

// The plugin lives beside the library holding this function (libff_core.so), wherever the build
// or a bundle of it was moved to.
std::string plugin_path_beside_core() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&plugin_path_beside_core), &info) == 0 || !info.dli_fname) {
    return kCudaPluginFile;  // let the loader's search path decide
  }
  return (std::filesystem::path(info.dli_fname).parent_path() / kCudaPluginFile).string();
}

LoadedPlugin load_plugin() {
  LoadedPlugin loaded;
  loaded.path = plugin_path_beside_core();
  if (!cuda_compiled_in()) {
    loaded.error = kBuiltWithoutCuda;
    return loaded;
  }
  void* handle = dlopen(loaded.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    loaded.error = "the CUDA backend cannot be loaded: " + last_dl_error();
    return loaded;
  }
  using Entry = const CudaPlugin* (*)();
  auto entry = reinterpret_cast<Entry>(dlsym(handle, kCudaPluginEntry));
  if (!entry) {
    loaded.error = loaded.path + " has no " + kCudaPluginEntry + ": not an ffcuda CUDA plugin";
    return loaded;
  }
  const CudaPlugin* api = entry();
  if (!api || api->abi != kCudaPluginAbi || !api->engine_version ||
      api->engine_version != version()) {
    loaded.error = loaded.path + " comes from another ffcuda build (plugin " +
                   (api && api->engine_version ? api->engine_version : "?") + ", engine " +
                   version() +
                   "); rebuild, or keep the plugin beside the libff_core.so it was "
                   "built with";
    return loaded;
  }
  loaded.api = api;
  return loaded;
}

const LoadedPlugin& plugin() {
  static std::once_flag once;
  static LoadedPlugin loaded;
  std::call_once(once, [] { loaded = load_plugin(); });
  return loaded;
}

}  // namespace

std::string cuda_plugin_path() { return plugin().path; }

std::string cuda_plugin_load_error() { return plugin().error; }

std::vector<CudaDeviceInfo> list_cuda_devices(std::string* why_none) {
  std::string why;
  std::vector<CudaDeviceInfo> devices;
  if (!cuda_compiled_in()) {
    why = kBuiltWithoutCuda;
  } else if (driver_device_count(&why) > 0) {
    const LoadedPlugin& loaded = plugin();
    if (loaded.api) {
      devices = loaded.api->list_devices(&why);
    } else {
      why = loaded.error;
    }
  }
  if (why_none) *why_none = why;
  return devices;
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
  const LoadedPlugin& loaded = plugin();
  if (!loaded.api) throw Error(loaded.error + "; use --device cpu");
  return loaded.api->make_backend(device);
}

}  // namespace ff
