// Dense row ops: rms_norm, gather_rows, column_sum.
#include <string>

#include "op_inputs.hpp"
#include "op_table.hpp"

namespace ff::optable {

namespace {

void rms_norm_case(OpCall& k, int rows, int cols, bool ld_gap, uint64_t seed) {
  const int ld_out = ld_gap ? cols + 5 : cols;
  // Quantised input: the sum of squares is exact in any order, so both backends get the same
  // scale; 1e-6 relative (~8 ulp) only absorbs a multiply-add contracted differently.
  const float* in = k.input(quantized_floats(static_cast<size_t>(rows) * cols, seed, 1, -2, 2));
  float* out = k.output("rms_norm", poison(static_cast<size_t>(rows) * ld_out),  // gaps stay NaN
                        Tolerance::close(0.0, 1e-6));
  Backend& b = k.backend();
  k.run = [&b, in, rows, cols, out, ld_out] { b.rms_norm(in, rows, cols, out, ld_out); };
  k.flops = 3.0 * rows * cols;
  k.bytes = 8.0 * rows * cols;
}

void gather_rows_case(OpCall& k, int rows, int cols, bool ld_gap, uint64_t seed) {
  const int ld_src = ld_gap ? cols + 3 : cols, src_rows = rows + 3;
  const float* src = k.input(random_floats(static_cast<size_t>(src_rows) * ld_src, seed, 1, -1, 1));
  const int32_t* indices = k.input(random_ints(rows, seed, 2, src_rows));  // with repeats
  float* dst = k.output("gather_rows", poison(static_cast<size_t>(rows) * cols),
                        Tolerance::bitwise());  // copies: exact
  Backend& b = k.backend();
  k.run = [&b, src, ld_src, indices, rows, cols, dst] {
    b.gather_rows(src, ld_src, indices, rows, cols, dst);
  };
  k.bytes = 8.0 * rows * cols + 4.0 * rows;
}

void column_sum_case(OpCall& k, int rows, int cols, float beta, uint64_t seed) {
  const float* x = k.input(random_floats(static_cast<size_t>(rows) * cols, seed, 1, -1, 1));
  // Terms in [-1, 1] summed in different orders (CPU row by row, GPU 8 interleaved partial
  // sums): the rounding error is ~2^-24 * sqrt(rows) * |partial sums| ~ 6e-8 * rows. 1e-6 * rows
  // leaves ~16x margin, while a missing or doubled row (an error ~0.5) still fails.
  // beta == 0 must not read `out`: poison it. beta != 0 reads it: start from data.
  float* out =
      k.output("column_sum", beta == 0.0f ? poison(cols) : random_floats(cols, seed, 2, -1, 1),
               Tolerance::close(1e-6 * rows, 1e-6));
  Backend& b = k.backend();
  k.run = [&b, x, rows, cols, out, beta] { b.column_sum(x, rows, cols, out, beta); };
  k.flops = static_cast<double>(rows) * cols;
  k.bytes = 4.0 * rows * cols + 8.0 * cols;
}

}  // namespace

void add_dense_cases(std::vector<OpCase>& cases, bool bench) {
  auto add = [&](const std::string& op, const std::string& label, std::function<void(OpCall&)> f) {
    cases.push_back({op, label, std::move(f)});
  };
  auto shape = [](int rows, int cols, const std::string& variant, uint64_t seed) {
    return std::to_string(rows) + "x" + std::to_string(cols) + "_" + variant + "_seed" +
           std::to_string(seed);
  };
  if (bench) {
    // The step's 200 rows (100 positives + 100 negatives) of 784 and 2000; the slow
    // evaluation's 10000 candidate rows of 2000; the probe's gathered batch of 100 x 6000.
    for (const auto& [rows, cols] : {std::pair{200, 784}, {200, 2000}, {10000, 2000}}) {
      add("rms_norm", shape(rows, cols, "ld_same", 1),
          [=](OpCall& k) { rms_norm_case(k, rows, cols, false, 1); });
    }
    add("gather_rows", shape(100, 6000, "ld_same", 1),
        [](OpCall& k) { gather_rows_case(k, 100, 6000, false, 1); });
    add("column_sum", shape(200, 2000, "beta0", 1),
        [](OpCall& k) { column_sum_case(k, 200, 2000, 0.0f, 1); });
    return;
  }
  const int shapes[][2] = {{1, 1},   {3, 7},    {2, 255},  {5, 256}, {4, 257},
                           {7, 784}, {3, 2000}, {1, 3072}, {200, 33}};
  for (const auto& s : shapes) {
    const int rows = s[0], cols = s[1];
    for (uint64_t seed : {1u, 2u}) {
      for (bool gap : {false, true}) {
        const std::string variant = gap ? "ld_gap" : "ld_same";
        add("rms_norm", shape(rows, cols, variant, seed),
            [=](OpCall& k) { rms_norm_case(k, rows, cols, gap, seed); });
        add("gather_rows", shape(rows, cols, variant, seed),
            [=](OpCall& k) { gather_rows_case(k, rows, cols, gap, seed); });
      }
      for (float beta : {0.0f, 0.5f}) {
        add("column_sum", shape(rows, cols, beta == 0.0f ? "beta0" : "beta_half", seed),
            [=](OpCall& k) { column_sum_case(k, rows, cols, beta, seed); });
      }
    }
  }
  // Rows not a multiple of the 8 row groups.
  add("column_sum", shape(257, 33, "beta0", 1),
      [](OpCall& k) { column_sum_case(k, 257, 33, 0.0f, 1); });
}

}  // namespace ff::optable
