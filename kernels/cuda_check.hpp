// Error checking for the CUDA runtime and cuBLAS(Lt). Every failure becomes an ff::CudaError that
// names the failing call, file:line and the device, so a report from a GPU machine is actionable
// without a debugger. Kernel launches are checked right after the <<<>>> (FF_CHECK_LAUNCH), and
// FF_DEBUG_SYNC=1 in the environment (or -DFF_DEBUG_SYNC_ALWAYS at build time) also synchronises
// after every launch, so an asynchronous fault is reported by the kernel that caused it.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "ff/error.hpp"

namespace ff::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file,
                                   int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line);
// For destructors and deallocate(), which must not throw: prints the same message to stderr.
void report_cuda_error(cudaError_t status, const char* call, const char* file, int line) noexcept;

// True when FF_DEBUG_SYNC=1 (read once) or the build defines FF_DEBUG_SYNC_ALWAYS.
bool debug_sync_enabled();

// After a kernel launch on `stream`: throws on a launch error (bad configuration, missing kernel
// image for this GPU); with debug sync, also waits for the kernel and throws on its fault. Skips
// the wait while the stream is being captured into a CUDA graph (a sync there is illegal).
void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line);

// The device the calling thread is bound to, for messages ("cuda:0"; "cuda:?" if unknown).
const char* current_device_label(char (&buffer)[32]) noexcept;

}  // namespace ff::cuda

#define FF_CUDA_CHECK(call)                                                     \
  do {                                                                          \
    const cudaError_t ff_cuda_status_ = (call);                                 \
    if (ff_cuda_status_ != cudaSuccess) {                                       \
      ::ff::cuda::throw_cuda_error(ff_cuda_status_, #call, __FILE__, __LINE__); \
    }                                                                           \
  } while (0)

#define FF_CUBLAS_CHECK(call)                                                       \
  do {                                                                              \
    const cublasStatus_t ff_cublas_status_ = (call);                                \
    if (ff_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                               \
      ::ff::cuda::throw_cublas_error(ff_cublas_status_, #call, __FILE__, __LINE__); \
    }                                                                               \
  } while (0)

// Non-throwing check for destructors: reports and carries on.
#define FF_CUDA_REPORT(call) ::ff::cuda::report_cuda_error((call), #call, __FILE__, __LINE__)

#define FF_CHECK_LAUNCH(kernel, stream) \
  ::ff::cuda::check_launch((kernel), (stream), __FILE__, __LINE__)
