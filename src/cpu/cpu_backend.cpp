// CPU backend: memory, GEMM (oneDNN, cpu_gemm.cpp), dense element-wise ops, reductions and
// optimisers.
#include "cpu_backend.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "cpu_bf16_kernels.hpp"
#include "cpu_reduce.hpp"
#include "ff/error.hpp"
#include "ff/math.hpp"

namespace ff {

std::string CpuBackend::name() const {
  // The kernels the GEMM library dispatches to decide its speed, so a result or benchmark names
  // them: "cpu (oneDNN 2.6, avx512_core_bf16 kernels, 2 threads)".
  return "cpu (" + gemm_.describe() + ", " + std::to_string(omp_get_max_threads()) + " threads)";
}

void* CpuBackend::allocate(size_t bytes) {
  // 64-byte alignment: whole cache lines, and what AVX-512 loads like.
  void* ptr = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
  if (!ptr) {
    throw Error("out of host memory: could not allocate " + std::to_string(bytes >> 20) +
                " MiB; use a smaller --batch, --layers or --train-limit");
  }
  written(ptr, bytes);  // no mirror of freed memory may survive into a new allocation
  return ptr;
}

void CpuBackend::deallocate(void* ptr) noexcept {
  gemm_.mirrors().released(ptr);
  std::free(ptr);
}

namespace {
struct HostTimeMark final : TimeMark {
  std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now();
};
}  // namespace

std::unique_ptr<TimeMark> CpuBackend::mark_time() { return std::make_unique<HostTimeMark>(); }

double CpuBackend::seconds_between(const TimeMark& start, const TimeMark& end) {
  return std::chrono::duration<double>(dynamic_cast<const HostTimeMark&>(end).at -
                                       dynamic_cast<const HostTimeMark&>(start).at)
      .count();
}

void CpuBackend::copy_to_device(void* dst, const void* host_src, size_t bytes) {
  written(dst, bytes);
  std::memcpy(dst, host_src, bytes);
}
void CpuBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) {
  std::memcpy(host_dst, src, bytes);
}
void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  written(dst, bytes);
  std::memcpy(dst, src, bytes);
}

void CpuBackend::fill(float* x, size_t n, float value) {
  written(x, n * sizeof(float));
  for (size_t i = 0; i < n; ++i) x[i] = value;
}

void CpuBackend::set_gemm_precision(GemmPrecision precision) {
  require(precision != GemmPrecision::kTf32,
          "--precision tf32 needs the CUDA backend (the CPU backend computes in fp32 or bf16); use "
          "--precision fp32, bf16, or --device cuda");
  gemm_.set_bf16(precision == GemmPrecision::kBf16);
}

void CpuBackend::rms_norm(const float* in, int rows, int cols, float* out, int ld_out) {
  written(out, static_cast<size_t>(rows) * ld_out * sizeof(float));
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float* x = in + static_cast<size_t>(r) * cols;
    const float scale = rms_inverse_scale(sum_of_squares(x, cols), cols);
    float* y = out + static_cast<size_t>(r) * ld_out;
    for (int j = 0; j < cols; ++j) y[j] = x[j] * scale;
  }
}

void CpuBackend::gemm(const GemmDesc& d, const float* a, const float* b, float* c,
                      Epilogue epilogue, const float* bias) {
  gemm_.run(d, a, b, c);
  if (epilogue == Epilogue::kNone) return;
  const bool relu = epilogue == Epilogue::kBiasRelu;
#pragma omp parallel for schedule(static)
  for (int col = 0; col < d.n; ++col) {
    float* y = c + static_cast<size_t>(col) * d.ldc;
    for (int i = 0; i < d.m; ++i) {
      const float z = y[i] + bias[i];
      y[i] = relu && z < 0.0f ? 0.0f : z;
    }
  }
}

void CpuBackend::gather_rows(const float* src, int ld_src, const int32_t* indices, int rows,
                             int cols, float* dst) {
  written(dst, static_cast<size_t>(rows) * cols * sizeof(float));
#pragma omp parallel for schedule(static)
  for (int i = 0; i < rows; ++i) {
    std::memcpy(dst + static_cast<size_t>(i) * cols, src + static_cast<size_t>(indices[i]) * ld_src,
                sizeof(float) * cols);
  }
}

void CpuBackend::column_sum(const float* x, int rows, int cols, float* out, float beta) {
  written(out, static_cast<size_t>(cols) * sizeof(float));
  // Every column's rows are added in order 0..rows-1, so the result does not depend on threads.
  // Threads take blocks of columns and read each row of a block contiguously: the additions run
  // across columns in vector registers instead of down one column at a time.
  constexpr int kBlock = 256;
  const int blocks = (cols + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int block = 0; block < blocks; ++block) {
    const int first = block * kBlock, width = std::min(kBlock, cols - first);
    float sum[kBlock] = {};
    for (int r = 0; r < rows; ++r) {
      const float* __restrict row = x + static_cast<size_t>(r) * cols + first;
      for (int j = 0; j < width; ++j) sum[j] += row[j];
    }
    float* __restrict y = out + first;
    for (int j = 0; j < width; ++j) y[j] = (beta == 0.0f ? 0.0f : beta * y[j]) + sum[j];
  }
}

void CpuBackend::rms_norm_relu_backward(const float* h, const float* g, int rows, int cols,
                                        float* dz, bool accumulate) {
  written(dz, static_cast<size_t>(rows) * cols * sizeof(float));
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float* hr = h + static_cast<size_t>(r) * cols;
    const float* gr = g + static_cast<size_t>(r) * cols;
    const SquaresAndDot sums = sum_of_squares_and_dot(hr, gr, cols);
    const RmsBackwardScalars k = rms_backward_scalars(sums.squares, sums.dot, cols);
    float* d = dz + static_cast<size_t>(r) * cols;
    for (int j = 0; j < cols; ++j) {
      const float value = rms_relu_backward_element(k, hr[j], gr[j]);
      d[j] = accumulate ? d[j] + value : value;
    }
  }
}

void CpuBackend::sum_into(const float* x, int n, float* acc) {
  written(acc, sizeof(float));
  double sum = 0.0;
  for (int i = 0; i < n; ++i) sum += x[i];
  acc[0] += static_cast<float>(sum);
}

void CpuBackend::count_equal(const int32_t* a, const int32_t* b, int n, int64_t* acc) {
  written(acc, sizeof(int64_t));
  int64_t count = 0;
  for (int i = 0; i < n; ++i) count += a[i] == b[i];
  acc[0] += count;
}

void CpuBackend::adam(const AdamSpec& spec, float* params, const float* grads, float* m, float* v,
                      size_t n) {
  const AdamScalars scalars =
      scheduled_adam_scalars(direct_adam_scalars(spec), spec.schedule, spec.cursor);
  written(m, n * sizeof(float));
  written(v, n * sizeof(float));
  // With native bf16 GEMMs, the parameters' bf16 copy is written in the same pass (the GEMMs
  // then read it instead of converting the weights at every call); otherwise no copy survives.
  if (Bf16Mirrors* mirrors = gemm_.mirrors_to_update()) {
    adam_with_bf16_copy(scalars, params, grads, m, v, mirrors->for_update(params, n), n);
    return;
  }
  written(params, n * sizeof(float));
  // __restrict: the four arrays never overlap; without it the compiler will not vectorise.
  float* __restrict p = params;
  const float* __restrict g = grads;
  float* __restrict mm = m;
  float* __restrict vv = v;
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) adam_element(scalars, g[i], &p[i], &mm[i], &vv[i]);
}

void CpuBackend::sgd_momentum(float lr, float momentum, float* params, const float* grads,
                              float* velocity, size_t n) {
  written(params, n * sizeof(float));
  written(velocity, n * sizeof(float));
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    velocity[i] = momentum * velocity[i] + grads[i];
    params[i] -= lr * velocity[i];
  }
}

void CpuBackend::advance_cursor(StepCursor* cursor) {
  written(cursor, sizeof *cursor);
  cursor->step += 1;
}

std::unique_ptr<Backend> make_cpu_backend(CpuBf16 bf16) {
  return std::make_unique<CpuBackend>(bf16);
}

}  // namespace ff
