// bias_act: the GEMM epilogue of the cuBLAS fallback path (used only where cuBLASLt has no
// algorithm with a fused bias/ReLU epilogue for a shape/alignment). Column-major C[m x n] with
// leading dimension ldc: c[col*ldc + i] = relu?(c[col*ldc + i] + bias[i]), bias has m entries
// (one per output unit), exactly the CPU reference's epilogue.
// Threads: grid-stride over the m*n elements, i fastest (coalesced in C and in bias).
// Requirements: ldc >= m; any alignment.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void bias_act_kernel(float* c, int m, size_t count, int ldc, const float* bias,
                                bool relu) {
  for (size_t e = global_thread_index(); e < count; e += global_thread_count()) {
    const size_t col = e / static_cast<size_t>(m);
    const int i = static_cast<int>(e - col * m);
    float* y = c + col * ldc + i;
    const float z = *y + bias[i];
    *y = relu && z < 0.0f ? 0.0f : z;
  }
}

void launch_bias_act(float* c, int m, int n, int ldc, const float* bias, bool relu,
                     cudaStream_t stream) {
  if (m <= 0 || n <= 0) return;
  const size_t count = static_cast<size_t>(m) * n;
  bias_act_kernel<<<element_blocks(count), kElementThreads, 0, stream>>>(c, m, count, ldc, bias,
                                                                         relu);
  FF_CHECK_LAUNCH("bias_act_kernel", stream);
}

}  // namespace ff::kernels
