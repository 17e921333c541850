// sum_into: acc[0] += sum(x[0:n]), bit-reproducible.
// Threads: ONE block of kThreads. Thread t adds x[t], x[t + kThreads], ... in double, CUB reduces
// the partial sums in a fixed tree, thread 0 adds the float of the total to acc[0]. Nothing
// depends on scheduling or the GPU model, so two runs give the same bits; double accumulation
// (like the CPU) keeps the result within one float rounding of the CPU's sequential double sum.
// Requirements: none. One block is plenty for the engine's n (a batch's pair losses); for large n
// the single block still runs at a fraction of memory bandwidth, which is acceptable here.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

constexpr int kSumThreads = 512;

__global__ void sum_into_kernel(const float* x, int n, float* acc) {
  using Reduce = cub::BlockReduce<double, kSumThreads>;
  __shared__ typename Reduce::TempStorage temp;
  double s = 0.0;
  for (int i = threadIdx.x; i < n; i += kSumThreads) s += x[i];
  const double total = Reduce(temp).Sum(s);
  if (threadIdx.x == 0) acc[0] += static_cast<float>(total);
}

void launch_sum_into(const float* x, int n, float* acc, cudaStream_t stream) {
  // n == 0 still launches: the CPU adds 0.0f (which turns -0 into +0); one tiny launch keeps
  // the two backends bit-identical there too.
  sum_into_kernel<<<1, kSumThreads, 0, stream>>>(x, n < 0 ? 0 : n, acc);
  FF_CHECK_LAUNCH("sum_into_kernel", stream);
}

}  // namespace ff::kernels
