// softmax_xent: per row r of logits [rows x classes]: row_loss[r] = -log softmax(z)[label] and,
// when dlogits is set, dlogits[r] = (softmax(z) - onehot(label)) * grad_scale. Same formulas and
// order as the CPU: max-shifted exponentials, log of their sum, p = exp(z - max - log_sum).
// Threads: one warp per row, kWarps rows per block (grid.x = ceil(rows / kWarps)). Lanes stride
// over the classes; max and sum are CUB warp reductions (fixed order: deterministic) broadcast
// from lane 0. A warp past the last row exits as a whole (no block-wide barrier follows).
// Requirements: labels[r] in [0, classes) (not checked, as on the CPU); classes >= 1.
#include <cmath>
#include <cub/warp/warp_reduce.cuh>

#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

constexpr int kWarps = 8;
constexpr unsigned kFullMask = 0xffffffffu;

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

__global__ void softmax_xent_kernel(const float* logits, const int32_t* labels, int rows,
                                    int classes, float grad_scale, float* dlogits,
                                    float* row_loss) {
  using WarpReduce = cub::WarpReduce<float>;
  __shared__ typename WarpReduce::TempStorage temp[kWarps];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int r = blockIdx.x * kWarps + warp;
  if (r >= rows) return;
  const float* z = logits + static_cast<size_t>(r) * classes;

  float max_logit = -INFINITY;
  for (int c = lane; c < classes; c += 32) max_logit = fmaxf(max_logit, z[c]);
  max_logit = __shfl_sync(kFullMask, WarpReduce(temp[warp]).Reduce(max_logit, MaxOp{}), 0);
  __syncwarp();  // temp[warp] is reused by the next reduction

  float sum = 0.0f;
  for (int c = lane; c < classes; c += 32) sum += expf(z[c] - max_logit);
  sum = __shfl_sync(kFullMask, WarpReduce(temp[warp]).Sum(sum), 0);
  const float log_sum = logf(sum);

  const int label = labels[r];
  if (lane == 0) row_loss[r] = log_sum - (z[label] - max_logit);
  if (dlogits != nullptr) {
    float* d = dlogits + static_cast<size_t>(r) * classes;
    for (int c = lane; c < classes; c += 32) {
      const float p = expf(z[c] - max_logit - log_sum);
      d[c] = (p - (c == label ? 1.0f : 0.0f)) * grad_scale;
    }
  }
}

void launch_softmax_xent(const float* logits, const int32_t* labels, int rows, int classes,
                         float grad_scale, float* dlogits, float* row_loss, cudaStream_t stream) {
  if (rows <= 0) return;
  const unsigned blocks = static_cast<unsigned>((rows + kWarps - 1) / kWarps);
  softmax_xent_kernel<<<blocks, kWarps * 32, 0, stream>>>(logits, labels, rows, classes, grad_scale,
                                                          dlogits, row_loss);
  FF_CHECK_LAUNCH("softmax_xent_kernel", stream);
}

}  // namespace ff::kernels
