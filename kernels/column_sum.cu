// column_sum: out[j] = beta * out[j] + sum_r x[r, j] (x row-major [rows x cols]); with beta == 0
// out is not read (it may hold garbage or NaN), as in the CPU reference.
// Threads: blocks of 32 x 8. threadIdx.x picks the column (32 adjacent columns per block:
// coalesced row reads), threadIdx.y a residue class of rows (r = y, y+8, ...); the 8 partial sums
// are then added in y order by the y == 0 thread. The order is fixed, so the result is
// bit-reproducible run to run (it may differ from the CPU's row-by-row order by fp32 rounding).
// Requirements: none; grid.x = ceil(cols / 32).
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

constexpr int kColumns = 32, kRowGroups = 8;

__global__ void column_sum_kernel(const float* x, int rows, int cols, float* out, float beta) {
  __shared__ float partial[kRowGroups][kColumns + 1];  // +1: no bank conflicts on the final pass
  const int j = blockIdx.x * kColumns + threadIdx.x;
  float s = 0.0f;
  if (j < cols) {
    for (int r = threadIdx.y; r < rows; r += kRowGroups) s += x[static_cast<size_t>(r) * cols + j];
  }
  partial[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && j < cols) {
    float total = 0.0f;
    for (int g = 0; g < kRowGroups; ++g) total += partial[g][threadIdx.x];
    out[j] = (beta == 0.0f ? 0.0f : beta * out[j]) + total;
  }
}

void launch_column_sum(const float* x, int rows, int cols, float* out, float beta,
                       cudaStream_t stream) {
  if (cols <= 0) return;  // rows == 0 still writes beta * out (the sum is 0), like the CPU
  const dim3 block(kColumns, kRowGroups);
  const unsigned blocks = static_cast<unsigned>((cols + kColumns - 1) / kColumns);
  column_sum_kernel<<<blocks, block, 0, stream>>>(x, rows, cols, out, beta);
  FF_CHECK_LAUNCH("column_sum_kernel", stream);
}

}  // namespace ff::kernels
