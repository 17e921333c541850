// peer_norm: peer normalisation of one FF layer (ff/ops.hpp: PeerNormSpec), in two kernels.
// 1. peer_norm_means_kernel: one thread per unit j (blocks of kElementThreads over the width) sums
//    h[b, j] over the positive rows b = 0..pairs-1 in row order (the CPU's order: the same sum bit
//    for bit) and updates running_mean[j] with peer_norm_running_mean(). Reads of a row are
//    coalesced across the block.
// 2. peer_norm_grad_kernel: one block of kRowThreads per positive row. Each block first reduces
//    the mean of the running means with CUB (the same fixed order in every block, so every row
//    sees the same value), then strides over the row adding peer_norm_gradient() to dz where
//    h > 0. The mean's order differs from the CPU's serial sum: a few ulp of the mean, which
//    shifts every gradient term by the same tiny absolute amount (the parity case's tolerance is
//    absolute in units of the gradient scale for that reason).
// Requirements: h [>= pairs rows x width], dz the same layout; pairs, width >= 1.
#include "common.cuh"
#include "ff/math.hpp"
#include "launch.cuh"

namespace ff::kernels {

__global__ void peer_norm_means_kernel(PeerNormSpec spec, const float* h, float* running_mean) {
  const int j = blockIdx.x * blockDim.x + threadIdx.x;
  if (j >= spec.width) return;
  float sum = 0.0f;
  for (int b = 0; b < spec.pairs; ++b) sum += h[static_cast<size_t>(b) * spec.width + j];
  running_mean[j] =
      peer_norm_running_mean(spec.momentum, running_mean[j], sum / static_cast<float>(spec.pairs));
}

__global__ void peer_norm_grad_kernel(PeerNormSpec spec, const float* h, const float* running_mean,
                                      float* dz) {
  using Reduce = cub::BlockReduce<float, kRowThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ float mean_r;
  float s = 0.0f;
  for (int j = threadIdx.x; j < spec.width; j += kRowThreads) s += running_mean[j];
  const float total = Reduce(temp).Sum(s);
  if (threadIdx.x == 0) mean_r = total / static_cast<float>(spec.width);
  __syncthreads();
  const size_t row = static_cast<size_t>(blockIdx.x) * spec.width;
  for (int j = threadIdx.x; j < spec.width; j += kRowThreads) {
    if (h[row + j] > 0.0f) {
      dz[row + j] += peer_norm_gradient(spec.lambda, spec.momentum, spec.width, spec.pairs,
                                        running_mean[j], mean_r);
    }
  }
}

void launch_peer_norm(const PeerNormSpec& spec, const float* h, float* running_mean, float* dz,
                      cudaStream_t stream) {
  if (spec.pairs <= 0 || spec.width <= 0) return;
  const unsigned unit_blocks =
      static_cast<unsigned>((spec.width + kElementThreads - 1) / kElementThreads);
  peer_norm_means_kernel<<<unit_blocks, kElementThreads, 0, stream>>>(spec, h, running_mean);
  FF_CHECK_LAUNCH("peer_norm_means_kernel", stream);
  peer_norm_grad_kernel<<<static_cast<unsigned>(spec.pairs), kRowThreads, 0, stream>>>(
      spec, h, running_mean, dz);
  FF_CHECK_LAUNCH("peer_norm_grad_kernel", stream);
}

}  // namespace ff::kernels
