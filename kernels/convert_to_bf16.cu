// convert_to_bf16: the bf16 operand copy of --precision bf16. dst[i] = bf16_bits_of(src[i]), the
// shared rounding of ff/math.hpp (nearest, ties to even), so the CPU emulation rounds identically.
// Threads: grid-stride, one element per thread per pass. Requirements: none (any alignment).
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void convert_to_bf16_kernel(const float* src, size_t n, uint16_t* dst) {
  for (size_t i = global_thread_index(); i < n; i += global_thread_count()) {
    dst[i] = bf16_bits_of(src[i]);
  }
}

void launch_convert_to_bf16(const float* src, size_t n, uint16_t* dst, cudaStream_t stream) {
  if (n == 0) return;
  convert_to_bf16_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(src, n, dst);
  FF_CHECK_LAUNCH("convert_to_bf16_kernel", stream);
}

}  // namespace ff::kernels
