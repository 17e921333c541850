// gather_rows: dst[i, 0:cols] = src[indices[i], 0:cols], src rows ld_src apart, dst contiguous.
// Threads: one block of kRowThreads per destination row (grid.x = rows), striding over columns
// (coalesced reads and writes).
// Requirements: rows < 2^31; indices are valid rows of src (not checked, as on the CPU).
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void gather_rows_kernel(const float* src, int ld_src, const int32_t* indices, int cols,
                                   float* dst) {
  const float* x = src + static_cast<size_t>(indices[blockIdx.x]) * ld_src;
  float* y = dst + static_cast<size_t>(blockIdx.x) * cols;
  for (int j = threadIdx.x; j < cols; j += kRowThreads) y[j] = x[j];
}

void launch_gather_rows(const float* src, int ld_src, const int32_t* indices, int rows, int cols,
                        float* dst, cudaStream_t stream) {
  if (rows <= 0 || cols <= 0) return;
  gather_rows_kernel<<<rows, kRowThreads, 0, stream>>>(src, ld_src, indices, cols, dst);
  FF_CHECK_LAUNCH("gather_rows_kernel", stream);
}

}  // namespace ff::kernels
