// The CPU backend's GEMMs on this machine's kernels, checked against double precision: every
// transpose combination, odd sizes, leading dimensions wider than the matrix, alpha and beta; then
// bf16 on the CPU's bf16 instructions against the exact emulation (the tests' oracle).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "ff/backend.hpp"
#include "ff/math.hpp"
#include "ff/philox.hpp"

namespace ff {
namespace {

std::vector<float> random_matrix(size_t n, uint32_t tag) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const Philox4 w = random_words(17, tag, static_cast<uint32_t>(i), RandomPurpose::kInit);
    x[i] = 2.0f * uniform_float(w.v[0]) - 1.0f;
  }
  return x;
}

// op(X)(row, col) of a column-major stored X with leading dimension ld.
double element(const std::vector<float>& x, Trans t, int ld, int row, int col) {
  return t == Trans::kN ? x[static_cast<size_t>(col) * ld + row]
                        : x[static_cast<size_t>(row) * ld + col];
}

struct Operands {
  GemmDesc d;
  std::vector<float> a, b, c;
};

Operands operands(Trans ta, Trans tb, int m, int n, int k, float alpha, float beta) {
  Operands o;
  GemmDesc& d = o.d;
  d.trans_a = ta;
  d.trans_b = tb;
  d.m = m;
  d.n = n;
  d.k = k;
  d.alpha = alpha;
  d.beta = beta;
  d.lda = (ta == Trans::kN ? m : k) + 3;  // wider than the matrix: strides are honoured
  d.ldb = (tb == Trans::kN ? k : n) + 1;
  d.ldc = m + 2;
  o.a = random_matrix(gemm_a_span(d), 1);
  o.b = random_matrix(gemm_b_span(d), 2);
  o.c = random_matrix(gemm_c_span(d), 3);
  return o;
}

// ||C - (alpha op(A) op(B) + beta C0)|| / ||reference|| over C's m x n elements, in double, with
// the operands as given (already rounded where the caller rounded them).
double relative_error(const Operands& o, const std::vector<float>& a, const std::vector<float>& b,
                      const std::vector<float>& c) {
  const GemmDesc& d = o.d;
  double diff = 0, norm = 0;
  for (int j = 0; j < d.n; ++j) {
    for (int i = 0; i < d.m; ++i) {
      double sum = 0;
      for (int p = 0; p < d.k; ++p)
        sum += element(a, d.trans_a, d.lda, i, p) * element(b, d.trans_b, d.ldb, p, j);
      const size_t at = static_cast<size_t>(j) * d.ldc + i;
      const double want = d.alpha * sum + d.beta * o.c[at];
      diff += (c[at] - want) * (c[at] - want);
      norm += want * want;
    }
  }
  return std::sqrt(diff / norm);
}

std::vector<float> run(Backend& backend, const Operands& o) {
  std::vector<float> c = o.c;
  backend.gemm(o.d, o.a.data(), o.b.data(), c.data());
  return c;
}

TEST(CpuGemm, Fp32MatchesDoublePrecisionInEveryLayout) {
  auto backend = make_cpu_backend();
  for (Trans ta : {Trans::kN, Trans::kT}) {
    for (Trans tb : {Trans::kN, Trans::kT}) {
      for (const auto& [m, n, k] : {std::tuple{1, 1, 1}, std::tuple{7, 5, 33},
                                    std::tuple{64, 200, 300}, std::tuple{257, 31, 784}}) {
        for (const auto& [alpha, beta] : {std::pair{1.0f, 0.0f}, std::pair{0.5f, 1.0f}}) {
          const Operands o = operands(ta, tb, m, n, k, alpha, beta);
          const std::vector<float> c = run(*backend, o);
          // fp32 accumulation over k <= 784 terms of magnitude <= 1: ~1e-7 relative in practice;
          // a wrong transpose, stride or beta gives O(1).
          EXPECT_LT(relative_error(o, o.a, o.b, c), 2e-6)
              << "trans " << static_cast<int>(ta) << static_cast<int>(tb) << " " << m << "x" << n
              << "x" << k << " alpha " << alpha << " beta " << beta;
          // Untouched: C's padding rows between columns.
          if (o.d.ldc > m && n > 1) {
            EXPECT_EQ(c[m], o.c[m]);
          }
        }
      }
    }
  }
}

TEST(CpuGemm, TheDeviceNameSaysWhichLibraryAndKernels) {
  const std::string name = make_cpu_backend()->name();
  EXPECT_NE(name.find("oneDNN"), std::string::npos) << name;
  EXPECT_NE(name.find("kernels"), std::string::npos) << name;
  EXPECT_NE(name.find("threads"), std::string::npos) << name;
}

TEST(CpuGemm, NativeBf16AgreesWithTheEmulationOfTheSameOperands) {
  auto native = make_cpu_backend(), emulated = make_cpu_backend(CpuBf16::kEmulated);
  const std::string kernels = native->name();
  if (kernels.find("bf16") == std::string::npos && kernels.find("amx") == std::string::npos) {
    GTEST_SKIP() << "this CPU has no bf16 GEMM kernels (" << kernels
                 << "): bf16 runs as the emulation here";
  }
  native->set_gemm_precision(GemmPrecision::kBf16);
  emulated->set_gemm_precision(GemmPrecision::kBf16);
  for (Trans ta : {Trans::kN, Trans::kT}) {
    for (Trans tb : {Trans::kN, Trans::kT}) {
      for (const auto& [m, n, k] :
           {std::tuple{7, 5, 33}, std::tuple{200, 64, 784}, std::tuple{64, 100, 2000}}) {
        for (float beta : {0.0f, 1.0f}) {
          const Operands o = operands(ta, tb, m, n, k, 1.0f, beta);
          std::vector<float> a = o.a, b = o.b;
          for (float& x : a) x = round_to_bf16(x);
          for (float& x : b) x = round_to_bf16(x);
          const std::vector<float> from_native = run(*native, o),
                                   from_emulation = run(*emulated, o);
          SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k) +
                       " trans " + std::to_string(static_cast<int>(ta)) +
                       std::to_string(static_cast<int>(tb)) + " beta " + std::to_string(beta));
          // Both multiply the same bf16 operands exactly and accumulate in fp32, in different
          // orders (the bf16 instructions add products in pairs): each ~1e-7 relative from the
          // double product of the rounded operands, so within 2e-6 of it and of each other.
          // Operands not rounded alike would be ~4e-3 (bf16's own precision) away.
          EXPECT_LT(relative_error(o, a, b, from_emulation), 2e-6);
          EXPECT_LT(relative_error(o, a, b, from_native), 2e-6);
        }
      }
    }
  }
}

}  // namespace
}  // namespace ff
