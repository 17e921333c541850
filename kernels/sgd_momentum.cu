// sgd_momentum: velocity = momentum * velocity + grad; param -= lr * velocity (the CPU's update).
// Threads: grid-stride, one element per thread per pass. Requirements: none.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void sgd_momentum_kernel(float lr, float momentum, float* params, const float* grads,
                                    float* velocity, size_t n) {
  for (size_t i = global_thread_index(); i < n; i += global_thread_count()) {
    const float vi = momentum * velocity[i] + grads[i];
    velocity[i] = vi;
    params[i] -= lr * vi;
  }
}

void launch_sgd_momentum(float lr, float momentum, float* params, const float* grads,
                         float* velocity, size_t n, cudaStream_t stream) {
  if (n == 0) return;
  sgd_momentum_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(lr, momentum, params,
                                                                         grads, velocity, n);
  FF_CHECK_LAUNCH("sgd_momentum_kernel", stream);
}

}  // namespace ff::kernels
