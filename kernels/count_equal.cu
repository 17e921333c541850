// count_equal: acc[0] += number of i < n with a[i] == b[i].
// Threads: grid-stride, one element per thread per pass; CUB block reduction of the per-thread
// counts, then one 64-bit atomicAdd per block. Integer addition is associative, so the result is
// exact and independent of block order.
// Requirements: none; acc is one int64 in device memory (8-byte aligned).
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void count_equal_kernel(const int32_t* a, const int32_t* b, int n, int64_t* acc) {
  using Reduce = cub::BlockReduce<unsigned long long, kElementThreads>;
  __shared__ typename Reduce::TempStorage temp;
  unsigned long long count = 0;
  for (size_t i = global_thread_index(); i < static_cast<size_t>(n); i += global_thread_count()) {
    count += a[i] == b[i] ? 1u : 0u;
  }
  const unsigned long long block_count = Reduce(temp).Sum(count);
  if (threadIdx.x == 0 && block_count != 0) {
    atomicAdd(reinterpret_cast<unsigned long long*>(acc), block_count);
  }
}

void launch_count_equal(const int32_t* a, const int32_t* b, int n, int64_t* acc,
                        cudaStream_t stream) {
  if (n <= 0) return;
  count_equal_kernel<<<element_blocks(static_cast<size_t>(n)), kElementThreads, 0, stream>>>(
      a, b, n, acc);
  FF_CHECK_LAUNCH("count_equal_kernel", stream);
}

}  // namespace ff::kernels
