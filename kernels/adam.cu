// adam: one launch over all n parameters: adam_element() (ff/math.hpp, the CPU's function) per
// element, with the bias corrections folded into AdamScalars on the host once per step.
// Threads: grid-stride, one element per thread per pass (size_t index: a whole network's
// parameters in one buffer). Requirements: none; params/grads/m/v have n elements.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void adam_kernel(AdamScalars scalars, float* params, const float* grads, float* m,
                            float* v, size_t n) {
  for (size_t i = global_thread_index(); i < n; i += global_thread_count()) {
    adam_element(scalars, grads[i], &params[i], &m[i], &v[i]);
  }
}

void launch_adam(const AdamScalars& scalars, float* params, const float* grads, float* m, float* v,
                 size_t n, cudaStream_t stream) {
  if (n == 0) return;
  adam_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(scalars, params, grads, m, v, n);
  FF_CHECK_LAUNCH("adam_kernel", stream);
}

}  // namespace ff::kernels
