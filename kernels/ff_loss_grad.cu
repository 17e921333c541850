// ff_loss_grad: the fused FF loss pass of one layer over h [2*pairs x width] (positives 0..B-1,
// negatives B..2B-1). Per pair i: both rows' sum of squares, goodness_from_sum + ff_pair_loss
// (ff/math.hpp: the CPU's functions) -> pair_loss[i]; dz[r] = dL/dG * dG/dh * (1/B) * h[r] (h is
// relu(z), so multiplying by h applies the ReLU mask); when h_norm is set, the RMS-normalised rows
// the next layer reads (ld_norm apart).
// Threads: one block of kRowThreads per pair (grid.x = pairs). The two sums of squares are reduced
// together as a float2 with CUB (one barrier round, fixed order: deterministic); thread 0 computes
// the pair's loss and the four per-row scales into shared memory; the block then streams both rows
// once more (from L1/L2) writing dz and h_norm.
// Requirements: pairs < 2^31; h and dz contiguous rows of width; ld_norm >= width; any alignment.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

struct Float2Sum {
  __device__ float2 operator()(const float2& a, const float2& b) const {
    return make_float2(a.x + b.x, a.y + b.y);
  }
};

__global__ void ff_loss_grad_kernel(FfLossSpec spec, const float* h, float* dz, float* h_norm,
                                    int ld_norm, float* pair_loss) {
  using Reduce = cub::BlockReduce<float2, kRowThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ float grad_scale[2], norm_scale[2];
  const int width = spec.width;
  const size_t rows[2] = {static_cast<size_t>(blockIdx.x),
                          static_cast<size_t>(spec.pairs) + blockIdx.x};
  const float* pos = h + rows[0] * width;
  const float* neg = h + rows[1] * width;
  float2 s = make_float2(0.0f, 0.0f);
  for (int j = threadIdx.x; j < width; j += kRowThreads) {
    s.x += pos[j] * pos[j];
    s.y += neg[j] * neg[j];
  }
  const float2 total = Reduce(temp).Reduce(s, Float2Sum{});
  if (threadIdx.x == 0) {
    const PairLoss pl = ff_pair_loss(spec, goodness_from_sum(total.x, width, spec.goodness),
                                     goodness_from_sum(total.y, width, spec.goodness));
    pair_loss[blockIdx.x] = pl.loss;
    const float grad_factor = goodness_grad_factor(width, spec.goodness);
    const float inv_batch = 1.0f / static_cast<float>(spec.pairs);
    // Same association as the CPU: (dL/dG * dG/dh-factor) * 1/B.
    grad_scale[0] = pl.dloss_dpos * grad_factor * inv_batch;
    grad_scale[1] = pl.dloss_dneg * grad_factor * inv_batch;
    norm_scale[0] = rms_inverse_scale(total.x, width);
    norm_scale[1] = rms_inverse_scale(total.y, width);
  }
  __syncthreads();
  for (int k = 0; k < 2; ++k) {
    const float* x = h + rows[k] * width;
    float* d = dz + rows[k] * width;
    const float g = grad_scale[k];
    for (int j = threadIdx.x; j < width; j += kRowThreads) d[j] = g * x[j];
    if (h_norm != nullptr) {
      float* y = h_norm + rows[k] * ld_norm;
      const float n = norm_scale[k];
      for (int j = threadIdx.x; j < width; j += kRowThreads) y[j] = x[j] * n;
    }
  }
}

void launch_ff_loss_grad(const FfLossSpec& spec, const float* h, float* dz, float* h_norm,
                         int ld_norm, float* pair_loss, cudaStream_t stream) {
  if (spec.pairs <= 0) return;
  ff_loss_grad_kernel<<<spec.pairs, kRowThreads, 0, stream>>>(spec, h, dz, h_norm, ld_norm,
                                                              pair_loss);
  FF_CHECK_LAUNCH("ff_loss_grad_kernel", stream);
}

}  // namespace ff::kernels
