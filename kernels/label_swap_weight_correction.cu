// label_swap_weight_correction: for a positive/negative batch whose weight gradient was taken as
// (dz_pos + dz_neg)^T xn_pos, adds the negatives' label terms: for every unit u and sample i in
// order, weight_grad[u, neg_label_i] += dz_neg[i, u] * s_neg_i, then
// weight_grad[u, pos_label_i] -= dz_neg[i, u] * s_pos_i (labels and scales by row_label_of()).
// Threads: one thread per unit u (grid.x = ceil(out / kRowThreads)), walking the samples in the
// CPU's order, so each weight_grad element sees the same sequence of additions as on the CPU
// (bit-identical up to FMA contraction) and no two threads touch the same element (no atomics).
// The samples' labels are found cooperatively, a tile of kRowThreads samples at a time, into
// shared memory. dz_neg reads are coalesced across units; weight_grad accesses touch only the
// first num_labels columns of each row.
// Requirements: xn [2*batch x in], dz_neg [batch x out], weight_grad [out x in]; any alignment.
#include "common.cuh"
#include "ff/batch_prep.hpp"
#include "launch.cuh"

namespace ff::kernels {

__global__ void label_swap_weight_correction_kernel(const float* xn, const float* dz_neg, int batch,
                                                    int in, int out, int num_labels,
                                                    float* weight_grad) {
  __shared__ RowLabel positive[kRowThreads], negative[kRowThreads];
  const int u = blockIdx.x * kRowThreads + threadIdx.x;
  for (int tile = 0; tile < batch; tile += kRowThreads) {
    const int count = min(kRowThreads, batch - tile);
    if (static_cast<int>(threadIdx.x) < count) {
      const int i = tile + threadIdx.x;
      positive[threadIdx.x] = row_label_of(xn + static_cast<size_t>(i) * in, num_labels);
      negative[threadIdx.x] = row_label_of(xn + static_cast<size_t>(batch + i) * in, num_labels);
    }
    __syncthreads();
    if (u < out) {
      float* row = weight_grad + static_cast<size_t>(u) * in;
      for (int k = 0; k < count; ++k) {
        const float d = dz_neg[static_cast<size_t>(tile + k) * out + u];
        const RowLabel neg = negative[k], pos = positive[k];
        if (neg.label >= 0) row[neg.label] += d * neg.value;
        if (pos.label >= 0) row[pos.label] -= d * pos.value;
      }
    }
    __syncthreads();  // the next tile overwrites the labels
  }
}

void launch_label_swap_weight_correction(const float* xn, const float* dz_neg, int batch, int in,
                                         int out, int num_labels, float* weight_grad,
                                         cudaStream_t stream) {
  if (batch <= 0 || out <= 0) return;
  const unsigned blocks = static_cast<unsigned>((out + kRowThreads - 1) / kRowThreads);
  label_swap_weight_correction_kernel<<<blocks, kRowThreads, 0, stream>>>(
      xn, dz_neg, batch, in, out, num_labels, weight_grad);
  FF_CHECK_LAUNCH("label_swap_weight_correction_kernel", stream);
}

}  // namespace ff::kernels
