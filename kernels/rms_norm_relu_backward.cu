// rms_norm_relu_backward: dz[r] (+)= [h > 0] * (d norm(h[r]) / d h)^T g[r] (rows x cols), the
// backward of "ReLU output h, then the RMS norm the next layer reads" for the backprop baselines.
// rms_backward_scalars() and rms_relu_backward_element() (ff/math.hpp) are the CPU reference's.
// Threads: one block of kRowThreads per row (grid.x = rows). sum(h^2) and dot(g, h) are reduced
// together as a float2 with CUB (fixed order: deterministic); thread 0 turns them into the row's
// two scalars (shared memory); the block then writes the row. With accumulate == false dz is not
// read (it may hold garbage or NaN), as on the CPU.
// Requirements: rows < 2^31; h, g and dz are contiguous rows of cols; any alignment.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

namespace {
struct Float2Add {
  __device__ float2 operator()(const float2& a, const float2& b) const {
    return make_float2(a.x + b.x, a.y + b.y);
  }
};
}  // namespace

__global__ void rms_norm_relu_backward_kernel(const float* h, const float* g, int cols, float* dz,
                                              bool accumulate) {
  using Reduce = cub::BlockReduce<float2, kRowThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ RmsBackwardScalars scalars;
  const size_t offset = static_cast<size_t>(blockIdx.x) * cols;
  const float* hr = h + offset;
  const float* gr = g + offset;
  float2 s = make_float2(0.0f, 0.0f);  // (sum of h^2, dot(g, h))
  for (int j = threadIdx.x; j < cols; j += kRowThreads) {
    s.x += hr[j] * hr[j];
    s.y += gr[j] * hr[j];
  }
  const float2 total = Reduce(temp).Reduce(s, Float2Add{});
  if (threadIdx.x == 0) scalars = rms_backward_scalars(total.x, total.y, cols);
  __syncthreads();
  const RmsBackwardScalars k = scalars;
  float* d = dz + offset;
  for (int j = threadIdx.x; j < cols; j += kRowThreads) {
    const float value = rms_relu_backward_element(k, hr[j], gr[j]);
    d[j] = accumulate ? d[j] + value : value;
  }
}

void launch_rms_norm_relu_backward(const float* h, const float* g, int rows, int cols, float* dz,
                                   bool accumulate, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  rms_norm_relu_backward_kernel<<<rows, kRowThreads, 0, stream>>>(h, g, cols, dz, accumulate);
  FF_CHECK_LAUNCH("rms_norm_relu_backward_kernel", stream);
}

}  // namespace ff::kernels
