// GPU parity of Backend::gemm, table-driven: the engine's three descriptors (linear forward,
// weight gradient with and without accumulation, input gradient) and a generic transposed one,
// x epilogue (none, bias, bias+ReLU) x shape (1, odd, not multiples of any tile) x pointer
// alignment (16-byte vs 4-byte: parameters share one buffer, so weights and biases can start at any
// float) x seed. Also checks that beta == 0 never reads C (poisoned with NaN), and that a second
// call (cached plan) gives the same bits. Skips without a GPU.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "test_parity_util.hpp"

namespace ff::parity {
namespace {

struct GemmCase {
  std::string kind;  // forward | weight_grad | weight_grad_acc | input_grad | generic_tt
  Epilogue epilogue;
  int rows, in, out;
  bool misaligned;
  uint64_t seed;
};

const char* epilogue_name(Epilogue e) {
  return e == Epilogue::kNone ? "none" : e == Epilogue::kBias ? "bias" : "bias_relu";
}

std::string gemm_name(const ::testing::TestParamInfo<GemmCase>& info) {
  const GemmCase& c = info.param;
  return sanitize(c.kind + "_" + epilogue_name(c.epilogue) + "_" + std::to_string(c.rows) + "x" +
                  std::to_string(c.in) + "x" + std::to_string(c.out) +
                  (c.misaligned ? "_align4" : "_align16") + "_seed" + std::to_string(c.seed));
}

void PrintTo(const GemmCase& c, std::ostream* os) {
  *os << gemm_name(::testing::TestParamInfo<GemmCase>(c, 0));
}

GemmDesc make_desc(const GemmCase& c) {
  if (c.kind == "forward") return linear_forward_desc(c.rows, c.in, c.out);
  if (c.kind == "weight_grad") return weight_grad_desc(c.rows, c.in, c.out);
  if (c.kind == "weight_grad_acc") return weight_grad_desc(c.rows, c.in, c.out, 1.0f);
  if (c.kind == "input_grad") return input_grad_desc(c.rows, c.in, c.out);
  // C[m x n] = 0.5 * A^T B^T - 0.25 C with padded leading dimensions.
  GemmDesc d{Trans::kT, Trans::kT, c.out, c.rows, c.in, 0.5f, 0, 0, -0.25f, 0};
  d.lda = c.in + 3;    // A stored k x m
  d.ldb = c.rows + 2;  // B stored n x k
  d.ldc = c.out + 1;
  return d;
}

// Elements of the stored operands (column-major, leading dimension ld).
size_t a_size(const GemmDesc& d) {
  return static_cast<size_t>(d.lda) * (d.trans_a == Trans::kN ? d.k : d.m);
}
size_t b_size(const GemmDesc& d) {
  return static_cast<size_t>(d.ldb) * (d.trans_b == Trans::kN ? d.n : d.k);
}
size_t c_size(const GemmDesc& d) { return static_cast<size_t>(d.ldc) * d.n; }

std::vector<float> absolute(std::vector<float> x) {
  for (float& v : x) v = std::fabs(v);
  return x;
}

using ParityGemm = ParityParamFixture<GemmCase>;

TEST_P(ParityGemm, MatchesCpu) {
  const GemmCase& c = GetParam();
  const GemmDesc d = make_desc(c);
  const size_t offset = c.misaligned ? 1 : 0;  // one float past a 256-byte-aligned allocation
  const std::vector<float> a = random_floats(a_size(d), c.seed, 1, -1, 1);
  const std::vector<float> b = random_floats(b_size(d), c.seed, 2, -1, 1);
  const std::vector<float> bias = random_floats(d.m, c.seed, 3, -1, 1);
  // beta == 0: C is poisoned, BLAS semantics say it is not read. beta != 0: C holds data.
  const std::vector<float> c0 = d.beta == 0.0f ? std::vector<float>(c_size(d), kNaN)
                                               : random_floats(c_size(d), c.seed, 4, -1, 1);
  auto padded = [&](const std::vector<float>& x) {
    std::vector<float> y(x.size() + offset, 0.0f);
    std::copy(x.begin(), x.end(), y.begin() + static_cast<std::ptrdiff_t>(offset));
    return y;
  };
  Twin<float> ta(*cpu_, *gpu_, padded(a)), tb(*cpu_, *gpu_, padded(b));
  Twin<float> tbias(*cpu_, *gpu_, padded(bias)), tc(*cpu_, *gpu_, padded(c0));
  const float* bias_cpu = c.epilogue == Epilogue::kNone ? nullptr : tbias.cpu.data() + offset;
  const float* bias_gpu = c.epilogue == Epilogue::kNone ? nullptr : tbias.gpu.data() + offset;
  cpu_->gemm(d, ta.cpu.data() + offset, tb.cpu.data() + offset, tc.cpu.data() + offset, c.epilogue,
             bias_cpu);
  gpu_->gemm(d, ta.gpu.data() + offset, tb.gpu.data() + offset, tc.gpu.data() + offset, c.epilogue,
             bias_gpu);
  const std::vector<float> gpu_c = tc.gpu.download(), cpu_c = tc.cpu.download();

  // Tolerance per element from its magnitude M = |alpha| |A||B| + |beta||C| + |bias| (computed by
  // the CPU on absolute values). fp32 GEMMs in different blockings differ by ~2^-24 sqrt(k) M
  // (random-walk rounding of the partial sums); 16x that is the bound. TF32 (10-bit mantissa
  // inputs, ~2^-11 per product) would exceed it for k up to ~400, so the k = 17, 129, 257 cases
  // also guard against TF32 having been switched on.
  GemmDesc md = d;
  md.alpha = std::fabs(d.alpha);
  md.beta = std::fabs(d.beta);
  Twin<float> ma(*cpu_, *gpu_, absolute(a)), mb(*cpu_, *gpu_, absolute(b));
  Twin<float> mbias(*cpu_, *gpu_, absolute(bias));
  Twin<float> mc(*cpu_, *gpu_, d.beta == 0.0f ? std::vector<float>(c_size(d), 0.0f) : absolute(c0));
  cpu_->gemm(md, ma.cpu.data(), mb.cpu.data(), mc.cpu.data(),
             c.epilogue == Epilogue::kNone ? Epilogue::kNone : Epilogue::kBias, mbias.cpu.data());
  const std::vector<float> magnitude = mc.cpu.download();
  const double per_m = 16.0 * std::sqrt(static_cast<double>(d.k)) * 0x1p-24;
  EXPECT_TRUE(close_to("gemm", gpu_c, cpu_c, [&](size_t i) {
    return i < offset ? 0.0 : per_m * magnitude[i - offset] + 1e-30;
  }));

  if (d.beta == 0.0f) {  // the cached plan again, into a fresh poisoned C: the same bits
    Array<float> again(*gpu_, padded(c0));
    gpu_->gemm(d, ta.gpu.data() + offset, tb.gpu.data() + offset, again.data() + offset, c.epilogue,
               bias_gpu);
    const std::vector<float> second = again.download();
    EXPECT_EQ(0, std::memcmp(second.data(), gpu_c.data(), sizeof(float) * second.size()))
        << "a repeated GEMM is not bit-identical";
  }
}

std::vector<GemmCase> gemm_cases() {
  std::vector<GemmCase> cases;
  const int shapes[][3] = {{1, 1, 1},   {3, 5, 7},     {33, 17, 65},
                           {2, 129, 3}, {64, 257, 31}, {200, 784, 129}};
  for (const auto& s : shapes) {
    for (bool misaligned : {false, true}) {
      for (uint64_t seed : {1u, 2u}) {
        for (Epilogue e : {Epilogue::kNone, Epilogue::kBias, Epilogue::kBiasRelu}) {
          cases.push_back({"forward", e, s[0], s[1], s[2], misaligned, seed});
        }
        cases.push_back({"weight_grad", Epilogue::kNone, s[0], s[1], s[2], misaligned, seed});
        cases.push_back({"weight_grad_acc", Epilogue::kNone, s[0], s[1], s[2], misaligned, seed});
        cases.push_back({"input_grad", Epilogue::kNone, s[0], s[1], s[2], misaligned, seed});
        cases.push_back({"generic_tt", Epilogue::kBiasRelu, s[0], s[1], s[2], misaligned, seed});
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(ParityTable, ParityGemm, ::testing::ValuesIn(gemm_cases()), gemm_name);

}  // namespace
}  // namespace ff::parity
