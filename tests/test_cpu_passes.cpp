// The CPU backend's non-GEMM passes against plain loops: the fixed-order row reductions against
// double precision, and the passes whose order of additions is promised (column sums, the
// layer-1 label swaps) against a straightforward loop doing the same additions in that order.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "cpu/cpu_reduce.hpp"
#include "ff/backend.hpp"
#include "ff/batch_prep.hpp"
#include "ff/philox.hpp"

namespace ff {
namespace {

std::vector<float> random_values(size_t n, uint32_t tag, float low = -1.0f, float high = 1.0f) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const Philox4 w = random_words(29, tag, static_cast<uint32_t>(i), RandomPurpose::kInit);
    x[i] = low + (high - low) * uniform_float(w.v[0]);
  }
  return x;
}

TEST(CpuPasses, RowReductionsMatchDoublePrecisionAtEveryLength) {
  for (const int n : {0, 1, 7, 15, 16, 17, 31, 33, 500, 784, 2000, 2001}) {
    const std::vector<float> x = random_values(static_cast<size_t>(n), 1);
    const std::vector<float> y = random_values(static_cast<size_t>(n), 2);
    double squares = 0.0, dot = 0.0, magnitude = 0.0;
    for (int j = 0; j < n; ++j) {
      squares += static_cast<double>(x[j]) * x[j];
      dot += static_cast<double>(x[j]) * y[j];
      magnitude += std::abs(static_cast<double>(x[j]) * y[j]);
    }
    // fp32 sums of n terms in 16 lanes: a few units in the last place of the terms' magnitude.
    EXPECT_NEAR(sum_of_squares(x.data(), n), squares, 1e-6 * squares + 1e-30) << n;
    const SquaresAndDot both = sum_of_squares_and_dot(x.data(), y.data(), n);
    EXPECT_NEAR(both.squares, squares, 1e-6 * squares + 1e-30) << n;
    EXPECT_NEAR(both.dot, dot, 1e-6 * magnitude + 1e-30) << n;
  }
}

TEST(CpuPasses, ColumnSumAddsEachColumnsRowsInOrder) {
  auto backend = make_cpu_backend();
  for (const int cols : {1, 255, 256, 257, 2000}) {
    const int rows = 37;
    const std::vector<float> x = random_values(static_cast<size_t>(rows) * cols, 3);
    std::vector<float> out = random_values(static_cast<size_t>(cols), 4), expected = out;
    for (int j = 0; j < cols; ++j) {
      float sum = 0.0f;
      for (int r = 0; r < rows; ++r) sum += x[static_cast<size_t>(r) * cols + j];
      expected[j] = 0.5f * expected[j] + sum;
    }
    backend->column_sum(x.data(), rows, cols, out.data(), 0.5f);
    for (int j = 0; j < cols; ++j) ASSERT_EQ(out[j], expected[j]) << cols << " " << j;
  }
}

// xn rows with a one-hot label in their first `labels` values scaled by a per-row factor (row r:
// label r % labels, or no label at all for every fifth row), then random pixels.
std::vector<float> labelled_rows(int rows, int in, int labels) {
  std::vector<float> xn = random_values(static_cast<size_t>(rows) * in, 5, 0.0f, 1.0f);
  for (int r = 0; r < rows; ++r) {
    float* row = xn.data() + static_cast<size_t>(r) * in;
    for (int c = 0; c < labels; ++c) row[c] = 0.0f;
    if (r % 5 != 4) row[(r * 7) % labels] = 0.25f + 0.01f * static_cast<float>(r);
  }
  return xn;
}

TEST(CpuPasses, LabelSwapForwardMatchesTheRowByRowFormula) {
  auto backend = make_cpu_backend();
  const int ref_rows = 9, groups = 3, in = 40, out = 300, labels = 10, rows = ref_rows * groups;
  const std::vector<float> xn = labelled_rows(rows, in, labels);
  const std::vector<float> z_ref = random_values(static_cast<size_t>(ref_rows) * out, 6);
  const std::vector<float> weight = random_values(static_cast<size_t>(out) * in, 7);
  std::vector<float> h(static_cast<size_t>(rows) * out, -1.0f);
  backend->label_swap_forward(z_ref.data(), xn.data(), ref_rows, groups, in, out, labels,
                              weight.data(), h.data());
  for (int r = 0; r < rows; ++r) {
    const int i = r % ref_rows;
    const RowLabel row = row_label_of(xn.data() + static_cast<size_t>(r) * in, labels);
    const RowLabel ref = row_label_of(xn.data() + static_cast<size_t>(i) * in, labels);
    for (int u = 0; u < out; ++u) {
      const float z = z_ref[static_cast<size_t>(i) * out + u];
      const float value =
          r < ref_rows ? z
                       : label_swapped_preactivation(z, weight.data() + static_cast<size_t>(u) * in,
                                                     row, ref);
      // Up to a fused multiply-add the compiler may form in one build of the formula and not
      // in the other.
      ASSERT_NEAR(h[static_cast<size_t>(r) * out + u], value > 0.0f ? value : 0.0f, 1e-6f)
          << r << " " << u;
    }
  }
}

TEST(CpuPasses, LabelSwapWeightCorrectionAddsSamplesInOrder) {
  auto backend = make_cpu_backend();
  const int batch = 23, in = 30, out = 260, labels = 10;
  const std::vector<float> xn = labelled_rows(2 * batch, in, labels);
  const std::vector<float> dz_neg = random_values(static_cast<size_t>(batch) * out, 8);
  std::vector<float> grad = random_values(static_cast<size_t>(out) * in, 9), expected = grad;
  for (int u = 0; u < out; ++u) {
    float* row = expected.data() + static_cast<size_t>(u) * in;
    for (int i = 0; i < batch; ++i) {
      const RowLabel pos = row_label_of(xn.data() + static_cast<size_t>(i) * in, labels);
      const RowLabel neg = row_label_of(xn.data() + static_cast<size_t>(batch + i) * in, labels);
      const float d = dz_neg[static_cast<size_t>(i) * out + u];
      if (neg.label >= 0) row[neg.label] += d * neg.value;
      if (pos.label >= 0) row[pos.label] -= d * pos.value;
    }
  }
  backend->label_swap_weight_correction(xn.data(), dz_neg.data(), batch, in, out, labels,
                                        grad.data());
  for (size_t k = 0; k < grad.size(); ++k) ASSERT_NEAR(grad[k], expected[k], 1e-6f) << k;
}

}  // namespace
}  // namespace ff
