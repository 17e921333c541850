// rms_norm: out[r, 0:cols] = in[r] / (1e-8 + sqrt(mean(in[r]^2))), out rows ld_out apart.
// Threads: one block of kRowThreads per row (grid.x = rows); the block reduces the row's sum of
// squares with CUB (block_sum_squares), thread 0's value is broadcast, and the scale comes from
// rms_inverse_scale() (ff/math.hpp), the CPU reference's function. Then the block writes the row.
// Requirements: rows < 2^31; in rows are contiguous (cols apart), ld_out >= cols; the columns
// cols..ld_out-1 of out are not touched (concatenated feature blocks). Any alignment.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void rms_norm_kernel(const float* in, int cols, float* out, int ld_out) {
  const float* x = in + static_cast<size_t>(blockIdx.x) * cols;
  const float scale = rms_inverse_scale(block_sum_squares<kRowThreads>(x, cols), cols);
  float* y = out + static_cast<size_t>(blockIdx.x) * ld_out;
  for (int j = threadIdx.x; j < cols; j += kRowThreads) y[j] = x[j] * scale;
}

void launch_rms_norm(const float* in, int rows, int cols, float* out, int ld_out,
                     cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  rms_norm_kernel<<<rows, kRowThreads, 0, stream>>>(in, cols, out, ld_out);
  FF_CHECK_LAUNCH("rms_norm_kernel", stream);
}

}  // namespace ff::kernels
