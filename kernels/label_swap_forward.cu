// label_swap_forward: layer 1 for rows that differ from a reference row only by the embedded
// label (ff/batch_prep.hpp, "layer-1 reuse across labels"). h [groups*ref_rows x out]: rows of
// group 0 are relu(z_ref); row r of a later group is
// relu(label_swapped_preactivation(z_ref[r % ref_rows][u], W[u, :], label(r), label(ref))), the
// labels read from the first num_labels values of the normalised rows xn with row_label_of():
// the CPU reference's functions.
// Threads: one block of kRowThreads per output row (grid.x = groups*ref_rows). Thread 0 finds
// the two labels (num_labels reads) into shared memory; the block's threads then stride over the
// units u, reading z_ref coalesced and W[u, label] (the first num_labels columns of W: <= 24
// floats per row, L2-resident across rows).
// Requirements: rows < 2^31; weight is [out x in] row-major, xn rows are `in` apart; any
// alignment.
#include "common.cuh"
#include "ff/batch_prep.hpp"
#include "launch.cuh"

namespace ff::kernels {

__global__ void label_swap_forward_kernel(const float* z_ref, const float* xn, int ref_rows, int in,
                                          int out, int num_labels, const float* weight, float* h) {
  __shared__ RowLabel labels[2];  // the row's, the reference row's
  const int r = blockIdx.x, i = r % ref_rows;
  const float* z = z_ref + static_cast<size_t>(i) * out;
  float* y = h + static_cast<size_t>(r) * out;
  if (r < ref_rows) {  // uniform per block: no barrier is skipped by part of it
    for (int u = threadIdx.x; u < out; u += kRowThreads) y[u] = z[u] > 0.0f ? z[u] : 0.0f;
    return;
  }
  if (threadIdx.x == 0) {
    labels[0] = row_label_of(xn + static_cast<size_t>(r) * in, num_labels);
    labels[1] = row_label_of(xn + static_cast<size_t>(i) * in, num_labels);
  }
  __syncthreads();
  const RowLabel row = labels[0], ref = labels[1];
  for (int u = threadIdx.x; u < out; u += kRowThreads) {
    const float value =
        label_swapped_preactivation(z[u], weight + static_cast<size_t>(u) * in, row, ref);
    y[u] = value > 0.0f ? value : 0.0f;
  }
}

void launch_label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups,
                               int in, int out, int num_labels, const float* weight, float* h,
                               cudaStream_t stream) {
  const int rows = ref_rows * groups;
  if (rows <= 0 || out <= 0) return;
  label_swap_forward_kernel<<<rows, kRowThreads, 0, stream>>>(z_ref, xn, ref_rows, in, out,
                                                              num_labels, weight, h);
  FF_CHECK_LAUNCH("label_swap_forward_kernel", stream);
}

}  // namespace ff::kernels
