// fill: x[i] = value for i < n.
// Threads: grid-stride loop, one element per thread per pass (size_t index: n may exceed 2^31).
// Requirements: none (any n, any 4-byte alignment).
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void fill_kernel(float* x, size_t n, float value) {
  for (size_t i = global_thread_index(); i < n; i += global_thread_count()) x[i] = value;
}

void launch_fill(float* x, size_t n, float value, cudaStream_t stream) {
  if (n == 0) return;
  fill_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(x, n, value);
  FF_CHECK_LAUNCH("fill_kernel", stream);
}

}  // namespace ff::kernels
