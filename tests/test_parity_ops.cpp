// GPU parity, table-driven: op x shape x seed for the memory, dense, reduction and optimiser ops
// of ff::Backend; the CPU backend is the oracle. Shapes include 1, odd sizes and sizes that are
// not a multiple of the kernels' block sizes (256 threads per row, 32-column tiles, 512-thread
// sums). Each tolerance states why it is what it is. Without a GPU every case skips with the
// reason (see test_parity_util.hpp).
#include <cstring>
#include <string>
#include <vector>

#include "test_parity_util.hpp"

namespace ff::parity {
namespace {

struct OpCase {
  std::string op;
  int rows = 1, cols = 1;  // 1-D ops use rows as n
  std::string variant;     // goes into the test name
  uint64_t seed = 1;
  void (*run)(Backend& cpu, Backend& gpu, const OpCase& c) = nullptr;
};

std::string case_name(const ::testing::TestParamInfo<OpCase>& info) {
  const OpCase& c = info.param;
  return sanitize(c.op + "_" + std::to_string(c.rows) + "x" + std::to_string(c.cols) +
                  (c.variant.empty() ? "" : "_" + c.variant) + "_seed" + std::to_string(c.seed));
}

void PrintTo(const OpCase& c, std::ostream* os) {
  *os << case_name(::testing::TestParamInfo<OpCase>(c, 0));
}

// ---- memory ----
void run_fill(Backend& cpu, Backend& gpu, const OpCase& c) {
  const size_t n = static_cast<size_t>(c.rows);
  const float value = random_floats(1, c.seed, 1, -3.0f, 3.0f)[0];
  Twin<float> x = poisoned(cpu, gpu, n);
  cpu.fill(x.cpu.data(), n, value);
  gpu.fill(x.gpu.data(), n, value);
  EXPECT_TRUE(equal_to("fill", x.gpu.download(), x.cpu.download()));  // a store: exact
}

void run_copy(Backend& cpu, Backend& gpu, const OpCase& c) {
  const size_t n = static_cast<size_t>(c.rows);
  Twin<float> src(cpu, gpu, random_floats(n, c.seed, 1, -1.0f, 1.0f));
  Twin<float> dst = poisoned(cpu, gpu, n);
  cpu.copy(dst.cpu.data(), src.cpu.data(), n * sizeof(float));
  gpu.copy(dst.gpu.data(), src.gpu.data(), n * sizeof(float));
  EXPECT_TRUE(equal_to("copy", dst.gpu.download(), dst.cpu.download()));  // bytes: exact
}

// ---- dense ----
void run_rms_norm(Backend& cpu, Backend& gpu, const OpCase& c) {
  const int ld_out = c.variant == "ld_gap" ? c.cols + 5 : c.cols;
  // Quantised input: the sum of squares is exact in any order, so both backends get the same
  // scale; 1e-6 relative (~8 ulp) only absorbs a multiply-add contracted differently.
  Twin<float> in(cpu, gpu,
                 quantized_floats(static_cast<size_t>(c.rows) * c.cols, c.seed, 1, -2, 2));
  Twin<float> out = poisoned(cpu, gpu, static_cast<size_t>(c.rows) * ld_out);  // gaps stay NaN
  cpu.rms_norm(in.cpu.data(), c.rows, c.cols, out.cpu.data(), ld_out);
  gpu.rms_norm(in.gpu.data(), c.rows, c.cols, out.gpu.data(), ld_out);
  EXPECT_TRUE(close_to("rms_norm", out.gpu.download(), out.cpu.download(), 0.0, 1e-6));
}

void run_gather_rows(Backend& cpu, Backend& gpu, const OpCase& c) {
  const int ld_src = c.variant == "ld_gap" ? c.cols + 3 : c.cols, src_rows = c.rows + 3;
  Twin<float> src(cpu, gpu,
                  random_floats(static_cast<size_t>(src_rows) * ld_src, c.seed, 1, -1, 1));
  Twin<int32_t> indices(cpu, gpu, random_ints(c.rows, c.seed, 2, src_rows));  // with repeats
  Twin<float> dst = poisoned(cpu, gpu, static_cast<size_t>(c.rows) * c.cols);
  cpu.gather_rows(src.cpu.data(), ld_src, indices.cpu.data(), c.rows, c.cols, dst.cpu.data());
  gpu.gather_rows(src.gpu.data(), ld_src, indices.gpu.data(), c.rows, c.cols, dst.gpu.data());
  EXPECT_TRUE(equal_to("gather_rows", dst.gpu.download(), dst.cpu.download()));  // copies: exact
}

void run_column_sum(Backend& cpu, Backend& gpu, const OpCase& c) {
  const float beta = c.variant == "beta_half" ? 0.5f : 0.0f;
  Twin<float> x(cpu, gpu, random_floats(static_cast<size_t>(c.rows) * c.cols, c.seed, 1, -1, 1));
  // beta == 0 must not read `out`: poison it. beta != 0 reads it: start from data.
  Twin<float> out = beta == 0.0f ? poisoned(cpu, gpu, c.cols)
                                 : Twin<float>(cpu, gpu, random_floats(c.cols, c.seed, 2, -1, 1));
  cpu.column_sum(x.cpu.data(), c.rows, c.cols, out.cpu.data(), beta);
  gpu.column_sum(x.gpu.data(), c.rows, c.cols, out.gpu.data(), beta);
  // Terms in [-1, 1] summed in different orders (CPU row by row, GPU 8 interleaved partial
  // sums): the rounding error is ~2^-24 * sqrt(rows) * |partial sums| ~ 6e-8 * rows. 1e-6 * rows
  // leaves ~16x margin, while a missing or doubled row (an error ~0.5) still fails.
  const double atol = 1e-6 * c.rows;
  EXPECT_TRUE(close_to("column_sum", out.gpu.download(), out.cpu.download(), atol, 1e-6));
}

// ---- reductions ----
void run_sum_into(Backend& cpu, Backend& gpu, const OpCase& c) {
  const int n = c.rows;
  Twin<float> x(cpu, gpu, random_floats(n, c.seed, 1, -1, 1));
  const std::vector<float> start = random_floats(1, c.seed, 2, -10, 10);
  Twin<float> acc(cpu, gpu, start);
  cpu.sum_into(x.cpu.data(), n, acc.cpu.data());
  gpu.sum_into(x.gpu.data(), n, acc.gpu.data());
  const std::vector<float> first = acc.gpu.download();
  // Both accumulate in double; the doubles differ by ~1e-16 relative, so the floats differ by at
  // most one rounding of the total: 1 ulp of a sum of n terms of size <= 1 (|sum| ~ sqrt(n)).
  const double atol = 2e-7 * (std::fabs(start[0]) + std::sqrt(static_cast<double>(n)) * 8.0);
  EXPECT_TRUE(close_to("sum_into", first, acc.cpu.download(), atol, 0.0));
  // Bit-reproducible: the same input again gives the same bits.
  acc.gpu.upload(start);
  gpu.sum_into(x.gpu.data(), n, acc.gpu.data());
  const std::vector<float> second = acc.gpu.download();
  EXPECT_EQ(0, std::memcmp(first.data(), second.data(), sizeof(float)))
      << "sum_into not reproducible";
}

void run_count_equal(Backend& cpu, Backend& gpu, const OpCase& c) {
  const int n = c.rows;
  Twin<int32_t> a(cpu, gpu, random_ints(n, c.seed, 1, 3)),
      b(cpu, gpu, random_ints(n, c.seed, 2, 3));
  Twin<int64_t> acc(cpu, gpu, std::vector<int64_t>{5});
  cpu.count_equal(a.cpu.data(), b.cpu.data(), n, acc.cpu.data());
  gpu.count_equal(a.gpu.data(), b.gpu.data(), n, acc.gpu.data());
  EXPECT_TRUE(equal_to("count_equal", acc.gpu.download(), acc.cpu.download()));  // integers
}

// ---- optimisers ----
void run_adam(Backend& cpu, Backend& gpu, const OpCase& c) {
  const size_t n = static_cast<size_t>(c.rows);
  Twin<float> p(cpu, gpu, random_floats(n, c.seed, 1, -1, 1));
  Twin<float> g(cpu, gpu, random_floats(n, c.seed, 2, -1e-2f, 1e-2f));
  Twin<float> m(cpu, gpu, random_floats(n, c.seed, 3, -1e-3f, 1e-3f));
  Twin<float> v(cpu, gpu, random_floats(n, c.seed, 4, 0.0f, 1e-4f));
  AdamSpec spec;
  spec.lr = 1e-3f;
  spec.step = c.variant == "step7" ? 7 : 1;
  cpu.adam(spec, p.cpu.data(), g.cpu.data(), m.cpu.data(), v.cpu.data(), n);
  gpu.adam(spec, p.gpu.data(), g.gpu.data(), m.gpu.data(), v.gpu.data(), n);
  // Same adam_element() on both; only a multiply-add contracted to an FMA on one side differs,
  // ~1 ulp per operation, a handful of operations: 2e-6 relative. The absolute floors are ~1 ulp
  // of each array's typical magnitude (params ~1, m ~1e-3, v ~1e-5).
  EXPECT_TRUE(close_to("adam params", p.gpu.download(), p.cpu.download(), 1e-7, 2e-6));
  EXPECT_TRUE(close_to("adam m", m.gpu.download(), m.cpu.download(), 1e-10, 2e-6));
  EXPECT_TRUE(close_to("adam v", v.gpu.download(), v.cpu.download(), 1e-12, 2e-6));
}

void run_sgd_momentum(Backend& cpu, Backend& gpu, const OpCase& c) {
  const size_t n = static_cast<size_t>(c.rows);
  Twin<float> p(cpu, gpu, random_floats(n, c.seed, 1, -1, 1));
  Twin<float> g(cpu, gpu, random_floats(n, c.seed, 2, -1e-2f, 1e-2f));
  Twin<float> vel(cpu, gpu, random_floats(n, c.seed, 3, -1e-2f, 1e-2f));
  cpu.sgd_momentum(0.01f, 0.9f, p.cpu.data(), g.cpu.data(), vel.cpu.data(), n);
  gpu.sgd_momentum(0.01f, 0.9f, p.gpu.data(), g.gpu.data(), vel.gpu.data(), n);
  // Two multiply-adds, possibly contracted differently: ~1 ulp each.
  EXPECT_TRUE(close_to("sgd params", p.gpu.download(), p.cpu.download(), 1e-7, 1e-6));
  EXPECT_TRUE(close_to("sgd velocity", vel.gpu.download(), vel.cpu.download(), 1e-9, 1e-6));
}

std::vector<OpCase> op_cases() {
  std::vector<OpCase> cases;
  const uint64_t seeds[] = {1, 2};
  auto add = [&](const std::string& op, int rows, int cols, const std::string& variant,
                 void (*run)(Backend&, Backend&, const OpCase&)) {
    for (uint64_t seed : seeds) cases.push_back(OpCase{op, rows, cols, variant, seed, run});
  };
  for (int n : {1, 7, 257, 100003}) {
    add("fill", n, 1, "", run_fill);
    add("copy", n, 1, "", run_copy);
    add("count_equal", n, 1, "", run_count_equal);
  }
  for (int n : {1, 7, 511, 512, 513, 1025, 100003}) add("sum_into", n, 1, "", run_sum_into);
  for (int n : {1, 7, 1001, 65537}) {
    add("adam", n, 1, "step1", run_adam);
    add("adam", n, 1, "step7", run_adam);
    add("sgd_momentum", n, 1, "", run_sgd_momentum);
  }
  const int shapes[][2] = {{1, 1},   {3, 7},    {2, 255},  {5, 256}, {4, 257},
                           {7, 784}, {3, 2000}, {1, 3072}, {200, 33}};
  for (const auto& s : shapes) {
    for (const char* variant : {"ld_same", "ld_gap"}) {
      add("rms_norm", s[0], s[1], variant, run_rms_norm);
      add("gather_rows", s[0], s[1], variant, run_gather_rows);
    }
    for (const char* variant : {"beta0", "beta_half"}) {
      add("column_sum", s[0], s[1], variant, run_column_sum);
    }
  }
  add("column_sum", 257, 33, "beta0", run_column_sum);  // rows not a multiple of the 8 row groups
  return cases;
}

using ParityOps = ParityParamFixture<OpCase>;

TEST_P(ParityOps, MatchesCpu) { GetParam().run(*cpu_, *gpu_, GetParam()); }

INSTANTIATE_TEST_SUITE_P(ParityTable, ParityOps, ::testing::ValuesIn(op_cases()), case_name);

}  // namespace
}  // namespace ff::parity
