// Messages of the CUDA error checks (see cuda_check.hpp).
#include "cuda_check.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace ff::cuda {

const char* current_device_label(char (&buffer)[32]) noexcept {
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0) {
    std::snprintf(buffer, sizeof buffer, "cuda:?");
  } else {
    std::snprintf(buffer, sizeof buffer, "cuda:%d", device);
  }
  return buffer;
}

static std::string cuda_message(cudaError_t status, const char* call, const char* file, int line) {
  char device[32];
  return std::string("CUDA error: ") + call + " failed with " + cudaGetErrorName(status) + " (" +
         cudaGetErrorString(status) + ") at " + file + ":" + std::to_string(line) + " on " +
         current_device_label(device);
}

void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  throw CudaError(cuda_message(status, call, file, line));
}

void report_cuda_error(cudaError_t status, const char* call, const char* file, int line) noexcept {
  if (status == cudaSuccess) return;
  try {
    std::fprintf(stderr, "ffcuda: %s\n", cuda_message(status, call, file, line).c_str());
  } catch (...) {
    std::fprintf(stderr, "ffcuda: CUDA error in %s at %s:%d\n", call, file, line);
  }
}

void throw_cublas_error(cublasStatus_t status, const char* call, const char* file, int line) {
  char device[32];
  throw CudaError(std::string("cuBLAS error: ") + call + " failed with " +
                  cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ") at " +
                  file + ":" + std::to_string(line) + " on " + current_device_label(device));
}

bool debug_sync_enabled() {
#ifdef FF_DEBUG_SYNC_ALWAYS
  return true;
#else
  // Read once: the environment does not change during a run, and launches are hot.
  static const bool enabled = [] {
    const char* value = std::getenv("FF_DEBUG_SYNC");
    return value != nullptr && std::string(value) == "1";
  }();
  return enabled;
#endif
}

void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line) {
  const cudaError_t launch = cudaGetLastError();
  if (launch != cudaSuccess) {
    throw_cuda_error(launch, (std::string("launch of ") + kernel).c_str(), file, line);
  }
  if (!debug_sync_enabled()) return;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  FF_CUDA_CHECK(cudaStreamIsCapturing(stream, &capture));
  if (capture != cudaStreamCaptureStatusNone) return;
  const cudaError_t run = cudaStreamSynchronize(stream);
  if (run != cudaSuccess) {
    throw_cuda_error(run, (std::string(kernel) + " (FF_DEBUG_SYNC=1: fault while it ran)").c_str(),
                     file, line);
  }
}

}  // namespace ff::cuda
