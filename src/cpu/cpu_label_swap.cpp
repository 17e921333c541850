// CPU reference of the layer-1 reuse across labels (ff/batch_prep.hpp): rows of one image that
// differ only in their label share one GEMM.
#include <vector>

#include "cpu_backend.hpp"
#include "ff/batch_prep.hpp"

namespace ff {

void CpuBackend::label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups,
                                    int in, int out, int num_labels, const float* weight,
                                    float* h) {
  const int rows = ref_rows * groups;
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int i = r % ref_rows;
    const float* z = z_ref + static_cast<size_t>(i) * out;
    float* y = h + static_cast<size_t>(r) * out;
    if (r < ref_rows) {
      for (int u = 0; u < out; ++u) y[u] = z[u] > 0.0f ? z[u] : 0.0f;
      continue;
    }
    const RowLabel row = row_label_of(xn + static_cast<size_t>(r) * in, num_labels);
    const RowLabel ref = row_label_of(xn + static_cast<size_t>(i) * in, num_labels);
    for (int u = 0; u < out; ++u) {
      const float value =
          label_swapped_preactivation(z[u], weight + static_cast<size_t>(u) * in, row, ref);
      y[u] = value > 0.0f ? value : 0.0f;
    }
  }
}

void CpuBackend::label_swap_weight_correction(const float* xn, const float* dz_neg, int batch,
                                              int in, int out, int num_labels, float* weight_grad) {
  std::vector<RowLabel> positive(batch), negative(batch);
  for (int i = 0; i < batch; ++i) {
    positive[i] = row_label_of(xn + static_cast<size_t>(i) * in, num_labels);
    negative[i] = row_label_of(xn + static_cast<size_t>(batch + i) * in, num_labels);
  }
  // One unit per iteration, samples in order: the sums do not depend on the thread count.
#pragma omp parallel for schedule(static)
  for (int u = 0; u < out; ++u) {
    float* row = weight_grad + static_cast<size_t>(u) * in;
    for (int i = 0; i < batch; ++i) {
      const float d = dz_neg[static_cast<size_t>(i) * out + u];
      if (negative[i].label >= 0) row[negative[i].label] += d * negative[i].value;
      if (positive[i].label >= 0) row[positive[i].label] -= d * positive[i].value;
    }
  }
}

void CpuBackend::add(const float* a, const float* b, size_t n, float* out) {
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) out[i] = a[i] + b[i];
}

}  // namespace ff
