// goodness_score: scores[r] = (accumulate ? scores[r] : 0) + goodness(h[r]) - theta, the slow
// classifier's per-row score. goodness_from_sum() is the CPU reference's function.
// Threads: one block of kRowThreads per row (grid.x = rows); CUB block reduction of the sum of
// squares (fixed order: deterministic); thread 0 writes the score.
// Requirements: rows < 2^31; h contiguous rows of width; any alignment.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void goodness_score_kernel(const float* h, int width, float theta, GoodnessMode mode,
                                      float* scores, bool accumulate) {
  const float* x = h + static_cast<size_t>(blockIdx.x) * width;
  const float sum_squares = block_sum_squares<kRowThreads>(x, width);
  if (threadIdx.x == 0) {
    const float score = goodness_from_sum(sum_squares, width, mode) - theta;
    scores[blockIdx.x] = accumulate ? scores[blockIdx.x] + score : score;
  }
}

void launch_goodness_score(const float* h, int rows, int width, float theta, GoodnessMode mode,
                           float* scores, bool accumulate, cudaStream_t stream) {
  if (rows <= 0) return;
  goodness_score_kernel<<<rows, kRowThreads, 0, stream>>>(h, width, theta, mode, scores,
                                                          accumulate);
  FF_CHECK_LAUNCH("goodness_score_kernel", stream);
}

}  // namespace ff::kernels
