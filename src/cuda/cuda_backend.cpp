// CUDA backend: memory and copies on the backend's stream; every op forwards to its launcher in
// kernels/ (or to the GEMM engine) with that stream. Policy stays in src/train.
#include "cuda/cuda_backend.hpp"

#include <cuda_profiler_api.h>

#include "ff/error.hpp"
#include "launch.cuh"

namespace ff {

namespace {

// Binds the calling thread to `device` and checks it can host the backend; returns the device.
int select_device(int device) {
  FF_CUDA_CHECK(cudaSetDevice(device));
  int pools = 0;
  FF_CUDA_CHECK(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device));
  if (!pools) {
    throw CudaError("cuda:" + std::to_string(device) +
                    " does not support stream-ordered memory pools; update the NVIDIA driver or "
                    "use --device cpu");
  }
  return device;
}

std::string device_name(int device) {
  cudaDeviceProp prop{};
  FF_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return "cuda:" + std::to_string(device) + " " + prop.name;
}

}  // namespace

CudaBackend::CudaBackend(int device)
    : device_(select_device(device)),
      name_(device_name(device_)),
      pool_(device_),
      gemm_(pool_, stream_.get()) {}

CudaBackend::~CudaBackend() {
  // Let queued work finish before the GEMM workspace, the pool and the stream go away.
  FF_CUDA_REPORT(cudaStreamSynchronize(stream_.get()));
}

std::unique_ptr<Backend> make_cuda_backend(int device) {
  return std::make_unique<CudaBackend>(device);
}

// ---- memory ----
void* CudaBackend::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  return pool_.allocate(bytes, stream_.get());
}

void CudaBackend::deallocate(void* ptr) noexcept { pool_.free(ptr, stream_.get()); }

void CudaBackend::copy_to_device(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  FF_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, stream_.get()));
  // Callers free or reuse the host buffer as soon as this returns (Array::upload of a temporary).
  // That is safe for pageable memory but not for pinned memory, whose copy is truly asynchronous;
  // waiting makes the contract hold for both. Uploads are rare (data once, an order per epoch).
  stream_.synchronize();
}

void CudaBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  FF_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, stream_.get()));
  stream_.synchronize();
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  FF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_.get()));
}

void CudaBackend::fill(float* x, size_t n, float value) {
  kernels::launch_fill(x, n, value, stream_.get());
}

void CudaBackend::synchronize() { stream_.synchronize(); }

void CudaBackend::profiler_start() {
  synchronize();  // earlier work stays outside the captured range
  FF_CUDA_CHECK(cudaProfilerStart());
}

void CudaBackend::profiler_stop() {
  synchronize();
  FF_CUDA_CHECK(cudaProfilerStop());
}

// ---- data ----
void CudaBackend::prepare_batch(const BatchSpec& spec, float* out, int32_t* task_labels) {
  kernels::launch_prepare_batch(spec, out, task_labels, stream_.get());
}

// ---- dense ----
void CudaBackend::rms_norm(const float* in, int rows, int cols, float* out, int ld_out) {
  kernels::launch_rms_norm(in, rows, cols, out, ld_out, stream_.get());
}

void CudaBackend::gemm(const GemmDesc& desc, const float* a, const float* b, float* c,
                       Epilogue epilogue, const float* bias) {
  gemm_.run(desc, a, b, c, epilogue, bias);
  // cuBLAS launches are not ours to check one by one; this still catches a launch failure and,
  // with FF_DEBUG_SYNC=1, a fault inside the GEMM, named as such.
  FF_CHECK_LAUNCH("gemm (cuBLASLt/cuBLAS)", stream_.get());
}

void CudaBackend::gather_rows(const float* src, int ld_src, const int32_t* indices, int rows,
                              int cols, float* dst) {
  kernels::launch_gather_rows(src, ld_src, indices, rows, cols, dst, stream_.get());
}

void CudaBackend::column_sum(const float* x, int rows, int cols, float* out, float beta) {
  kernels::launch_column_sum(x, rows, cols, out, beta, stream_.get());
}

// ---- Forward-Forward ----
void CudaBackend::ff_loss_grad(const FfLossSpec& spec, const float* h, float* dz, float* h_norm,
                               int ld_norm, float* pair_loss) {
  kernels::launch_ff_loss_grad(spec, h, dz, h_norm, ld_norm, pair_loss, stream_.get());
}

void CudaBackend::goodness_score(const float* h, int rows, int width, float theta,
                                 GoodnessMode mode, float* scores, bool accumulate) {
  kernels::launch_goodness_score(h, rows, width, theta, mode, scores, accumulate, stream_.get());
}

void CudaBackend::argmax(const float* x, int items, int classes, int item_stride, int class_stride,
                         int32_t* out) {
  kernels::launch_argmax(x, items, classes, item_stride, class_stride, out, stream_.get());
}

// ---- layer-1 reuse across labels ----
void CudaBackend::label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups,
                                     int in, int out, int num_labels, const float* weight,
                                     float* h) {
  kernels::launch_label_swap_forward(z_ref, xn, ref_rows, groups, in, out, num_labels, weight, h,
                                     stream_.get());
}

void CudaBackend::label_swap_weight_correction(const float* xn, const float* dz_neg, int batch,
                                               int in, int out, int num_labels,
                                               float* weight_grad) {
  kernels::launch_label_swap_weight_correction(xn, dz_neg, batch, in, out, num_labels, weight_grad,
                                               stream_.get());
}

void CudaBackend::add(const float* a, const float* b, size_t n, float* out) {
  kernels::launch_add(a, b, n, out, stream_.get());
}

// ---- backprop ----
void CudaBackend::rms_norm_relu_backward(const float* h, const float* g, int rows, int cols,
                                         float* dz, bool accumulate) {
  kernels::launch_rms_norm_relu_backward(h, g, rows, cols, dz, accumulate, stream_.get());
}

// ---- softmax classifier ----
void CudaBackend::softmax_xent(const float* logits, const int32_t* labels, int rows, int classes,
                               float grad_scale, float* dlogits, float* row_loss) {
  kernels::launch_softmax_xent(logits, labels, rows, classes, grad_scale, dlogits, row_loss,
                               stream_.get());
}

// ---- reductions and optimisers ----
void CudaBackend::sum_into(const float* x, int n, float* acc) {
  kernels::launch_sum_into(x, n, acc, stream_.get());
}

void CudaBackend::count_equal(const int32_t* a, const int32_t* b, int n, int64_t* acc) {
  kernels::launch_count_equal(a, b, n, acc, stream_.get());
}

void CudaBackend::adam(const AdamSpec& spec, float* params, const float* grads, float* m, float* v,
                       size_t n) {
  kernels::launch_adam(adam_scalars(spec), params, grads, m, v, n, stream_.get());
}

void CudaBackend::sgd_momentum(float lr, float momentum, float* params, const float* grads,
                               float* velocity, size_t n) {
  kernels::launch_sgd_momentum(lr, momentum, params, grads, velocity, n, stream_.get());
}

}  // namespace ff
