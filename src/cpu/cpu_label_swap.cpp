// CPU reference of the layer-1 reuse across labels (ff/batch_prep.hpp): rows of one image that
// differ only in their label share one GEMM.
//
// Both ops touch only the first num_labels columns of W or of its gradient, one value per unit
// and label. Read in place those are num_labels values per 4*in-byte row; both ops first copy
// them into a [label][unit] table, so that the loops over units read and write contiguous memory
// (vector registers) and every element still sees the same arithmetic in the same order.
#include <algorithm>
#include <vector>

#include "cpu_backend.hpp"
#include "ff/batch_prep.hpp"

namespace ff {

namespace {

// The labels and scales of rows first..first+count-1 of xn (rows `in` apart).
std::vector<RowLabel> row_labels(const float* xn, int first, int count, int in, int num_labels) {
  std::vector<RowLabel> labels(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    labels[i] = row_label_of(xn + static_cast<size_t>(first + i) * in, num_labels);
  }
  return labels;
}

}  // namespace

void CpuBackend::label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups,
                                    int in, int out, int num_labels, const float* weight,
                                    float* h) {
  const int rows = ref_rows * groups;
  written(h, static_cast<size_t>(rows) * out * sizeof(float));
  // columns[c][u] = W[u, c] for c < num_labels; column num_labels is zeros, read for rows
  // without a label (whose weight label_swapped_preactivation ignores).
  const auto width = static_cast<size_t>(out);
  label_columns_.assign(static_cast<size_t>(num_labels + 1) * width, 0.0f);
#pragma omp parallel for schedule(static)
  for (int u = 0; u < out; ++u) {
    for (int c = 0; c < num_labels; ++c) {
      label_columns_[c * width + u] = weight[static_cast<size_t>(u) * in + c];
    }
  }
  const std::vector<RowLabel> labels = row_labels(xn, 0, rows, in, num_labels);
  const float* columns = label_columns_.data();
  auto column_of = [&](RowLabel label) {
    return columns + static_cast<size_t>(label.label >= 0 ? label.label : num_labels) * width;
  };
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int i = r % ref_rows;
    const float* __restrict z = z_ref + static_cast<size_t>(i) * out;
    float* __restrict y = h + static_cast<size_t>(r) * out;
    if (r < ref_rows) {
      for (int u = 0; u < out; ++u) y[u] = z[u] > 0.0f ? z[u] : 0.0f;
      continue;
    }
    const RowLabel row = labels[r], ref = labels[i];
    const float* __restrict w_row = column_of(row);
    const float* __restrict w_ref = column_of(ref);
    for (int u = 0; u < out; ++u) {
      const float value = label_swapped_preactivation(z[u], row, w_row[u], ref, w_ref[u]);
      y[u] = value > 0.0f ? value : 0.0f;
    }
  }
}

void CpuBackend::label_swap_weight_correction(const float* xn, const float* dz_neg, int batch,
                                              int in, int out, int num_labels, float* weight_grad) {
  written(weight_grad, static_cast<size_t>(in) * out * sizeof(float));
  const std::vector<RowLabel> positive = row_labels(xn, 0, batch, in, num_labels);
  const std::vector<RowLabel> negative = row_labels(xn, batch, batch, in, num_labels);
  // Threads take blocks of units; within a block, samples in order and for each sample the
  // negative's term before the positive's: every element sees the additions in the same order
  // whatever the thread count (and the same order as the CUDA kernel).
  constexpr int kBlock = 128;
  const int blocks = (out + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static)
  for (int block = 0; block < blocks; ++block) {
    const int first = block * kBlock, units = std::min(kBlock, out - first);
    std::vector<float> columns(static_cast<size_t>(num_labels) * kBlock);  // [label][unit]
    for (int j = 0; j < units; ++j) {
      for (int c = 0; c < num_labels; ++c) {
        columns[static_cast<size_t>(c) * kBlock + j] =
            weight_grad[static_cast<size_t>(first + j) * in + c];
      }
    }
    for (int i = 0; i < batch; ++i) {
      const float* __restrict d = dz_neg + static_cast<size_t>(i) * out + first;
      // column[j] += d[j] * scale; a - b*s and a + b*(-s) round alike, so the positive's
      // subtraction is this with the scale negated.
      auto add_scaled = [&](RowLabel label, float scale) {
        if (label.label < 0) return;
        float* __restrict column = columns.data() + static_cast<size_t>(label.label) * kBlock;
        for (int j = 0; j < units; ++j) column[j] += d[j] * scale;
      };
      add_scaled(negative[i], negative[i].value);
      add_scaled(positive[i], -positive[i].value);
    }
    for (int j = 0; j < units; ++j) {
      for (int c = 0; c < num_labels; ++c) {
        weight_grad[static_cast<size_t>(first + j) * in + c] =
            columns[static_cast<size_t>(c) * kBlock + j];
      }
    }
  }
}

void CpuBackend::add(const float* a, const float* b, size_t n, float* out) {
  written(out, n * sizeof(float));
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) out[i] = a[i] + b[i];
}

}  // namespace ff
