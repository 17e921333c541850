// Shared pieces of the kernels: launch geometry and the one row reduction every row-wise FF op
// needs (sum of squares), done with CUB so the reduction order is fixed by the block size alone
// (deterministic run to run).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cub/block/block_reduce.cuh>

#include "cuda_check.hpp"

namespace ff::kernels {

// Row-wise kernels use one block of this many threads per row: a multiple of the warp size that
// keeps 8 blocks resident per SM on sm_80/sm_90 and covers the engine's widths (784..3072,
// 2000) in a few strided passes.
constexpr int kRowThreads = 256;
// Element-wise kernels: grid-stride loops over this many threads per block.
constexpr int kElementThreads = 256;

// Blocks for an element-wise grid-stride kernel over n elements: enough to fill the GPU, capped
// so the grid size fits an int and the loop does the rest.
inline unsigned element_blocks(size_t n) {
  const size_t blocks = (n + kElementThreads - 1) / kElementThreads;
  return static_cast<unsigned>(std::min<size_t>(blocks, size_t{1} << 20));
}

// Grid-stride index helpers in size_t: n may exceed 2^31 (a whole parameter buffer).
__device__ __forceinline__ size_t global_thread_index() {
  return static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ size_t global_thread_count() {
  return static_cast<size_t>(gridDim.x) * blockDim.x;
}

// Sum of x[j]^2 over j < n for a block of kThreads threads; the result is valid in every thread
// (broadcast through shared memory). The thread-to-element split (j = tid, tid + kThreads, ...)
// and CUB's tree make the order depend on kThreads only.
template <int kThreads>
__device__ float block_sum_squares(const float* x, int n) {
  using Reduce = cub::BlockReduce<float, kThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ float total;
  float s = 0.0f;
  for (int j = threadIdx.x; j < n; j += kThreads) s += x[j] * x[j];
  const float block_total = Reduce(temp).Sum(s);
  if (threadIdx.x == 0) total = block_total;
  __syncthreads();
  return total;
}

}  // namespace ff::kernels
