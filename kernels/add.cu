// add: out[i] = a[i] + b[i] (out may alias a or b: each element is read before it is written by
// the same thread). Threads: grid-stride, one element per thread per pass. Requirements: none.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void add_kernel(const float* a, const float* b, size_t n, float* out) {
  for (size_t i = global_thread_index(); i < n; i += global_thread_count()) out[i] = a[i] + b[i];
}

void launch_add(const float* a, const float* b, size_t n, float* out, cudaStream_t stream) {
  if (n == 0) return;
  add_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(a, b, n, out);
  FF_CHECK_LAUNCH("add_kernel", stream);
}

}  // namespace ff::kernels
