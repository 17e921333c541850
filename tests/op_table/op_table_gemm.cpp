// Backend::gemm: the engine's three descriptors (linear forward, weight gradient with and without
// accumulation, input gradient) and a generic transposed one, x epilogue (none, bias, bias+ReLU)
// x shape (1, odd, not multiples of any tile) x pointer alignment (16-byte vs 4-byte: parameters
// share one buffer, so weights and biases can start at any float). beta == 0 must never read C
// (poisoned with NaN); a second call with the cached plan must give the same bits.
#include <algorithm>
#include <cmath>
#include <string>

#include "op_inputs.hpp"
#include "op_table.hpp"

namespace ff::optable {

namespace {

GemmDesc make_desc(const std::string& kind, int rows, int in, int out) {
  if (kind == "forward") return linear_forward_desc(rows, in, out);
  if (kind == "weight_grad") return weight_grad_desc(rows, in, out);
  if (kind == "weight_grad_acc") return weight_grad_desc(rows, in, out, 1.0f);
  if (kind == "input_grad") return input_grad_desc(rows, in, out);
  // C[m x n] = 0.5 * A^T B^T - 0.25 C with padded leading dimensions.
  GemmDesc d{Trans::kT, Trans::kT, out, rows, in, 0.5f, 0, 0, -0.25f, 0};
  d.lda = in + 3;    // A stored k x m
  d.ldb = rows + 2;  // B stored n x k
  d.ldc = out + 1;
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

float element(const std::vector<float>& x, int ld, Trans trans, int row, int col) {
  // op(X)[row, col] of a column-major stored X.
  return trans == Trans::kN ? x[static_cast<size_t>(col) * ld + row]
                            : x[static_cast<size_t>(row) * ld + col];
}

// |alpha| |op(A)| |op(B)| + |beta| |C| + |bias| per element of C, in double on the host: the size
// of the terms whose rounding the comparison allows for.
std::vector<float> magnitude(const GemmDesc& d, const std::vector<float>& a,
                             const std::vector<float>& b, const std::vector<float>& c0,
                             const std::vector<float>& bias, bool with_bias) {
  std::vector<float> m(c_size(d), 0.0f);
  for (int j = 0; j < d.n; ++j) {
    for (int i = 0; i < d.m; ++i) {
      double sum = 0.0;
      for (int p = 0; p < d.k; ++p) {
        sum += std::fabs(static_cast<double>(element(a, d.lda, d.trans_a, i, p)) *
                         element(b, d.ldb, d.trans_b, p, j));
      }
      double total = std::fabs(d.alpha) * sum;
      if (d.beta != 0.0f)
        total += std::fabs(d.beta) * std::fabs(c0[static_cast<size_t>(j) * d.ldc + i]);
      if (with_bias) total += std::fabs(bias[i]);
      m[static_cast<size_t>(j) * d.ldc + i] = static_cast<float>(total);
    }
  }
  return m;
}

void gemm_case(OpCall& k, const std::string& kind, Epilogue epilogue, int rows, int in, int out,
               bool misaligned, uint64_t seed) {
  const GemmDesc d = make_desc(kind, rows, in, out);
  const size_t offset = misaligned ? 1 : 0;  // one float past a 256-byte-aligned allocation
  const std::vector<float> a = random_floats(a_size(d), seed, 1, -1, 1);
  const std::vector<float> b = random_floats(b_size(d), seed, 2, -1, 1);
  const std::vector<float> bias = random_floats(d.m, seed, 3, -1, 1);
  // beta == 0: C is poisoned, BLAS semantics say it is not read. beta != 0: C holds data.
  const std::vector<float> c0 =
      d.beta == 0.0f ? poison(c_size(d)) : random_floats(c_size(d), seed, 4, -1, 1);
  auto padded = [&](const std::vector<float>& x) {
    std::vector<float> y(x.size() + offset, 0.0f);
    std::copy(x.begin(), x.end(), y.begin() + static_cast<std::ptrdiff_t>(offset));
    return y;
  };
  // fp32 GEMMs in different blockings differ by ~2^-24 sqrt(k) M per element of magnitude M
  // (random-walk rounding of the partial sums); 16x that is the bound. TF32 (10-bit mantissa
  // inputs, ~2^-11 per product) would exceed it for k up to ~400, so the k = 17, 129, 257 cases
  // also guard against TF32 having been switched on.
  Tolerance tolerance =
      Tolerance::close(1e-30, 16.0 * std::sqrt(static_cast<double>(d.k)) * 0x1p-24);
  if (k.for_parity()) {
    tolerance.scale = padded(magnitude(d, a, b, c0, bias, epilogue != Epilogue::kNone));
    if (offset) tolerance.scale[0] = 0.0f;  // the pad before C must stay as it was
  }
  const float* pa = k.input(padded(a)) + offset;
  const float* pb = k.input(padded(b)) + offset;
  const float* pbias = epilogue == Epilogue::kNone ? nullptr : k.input(padded(bias)) + offset;
  float* pc = k.output("gemm", padded(c0), std::move(tolerance)) + offset;
  Backend& backend = k.backend();
  k.run = [&backend, d, pa, pb, pc, epilogue, pbias] {
    backend.gemm(d, pa, pb, pc, epilogue, pbias);
  };
  k.flops = gemm_flops(d);
  k.bytes = 4.0 * (gemm_a_span(d) + gemm_b_span(d) + (d.beta != 0.0f ? 2.0 : 1.0) * d.m * d.n);
  k.deterministic = d.beta == 0.0f;  // the cached plan again, into the same C: the same bits
}

const char* epilogue_name(Epilogue e) {
  return e == Epilogue::kNone ? "none" : e == Epilogue::kBias ? "bias" : "bias_relu";
}

}  // namespace

void add_gemm_cases(std::vector<OpCase>& cases, bool bench) {
  auto add = [&](const std::string& kind, Epilogue e, int rows, int in, int out, bool misaligned,
                 uint64_t seed) {
    const std::string label = kind + "_" + epilogue_name(e) + "_" + std::to_string(rows) + "x" +
                              std::to_string(in) + "x" + std::to_string(out) +
                              (misaligned ? "_align4" : "_align16") + "_seed" +
                              std::to_string(seed);
    cases.push_back({"gemm", label,
                     [=](OpCall& k) { gemm_case(k, kind, e, rows, in, out, misaligned, seed); }});
  };
  if (bench) {
    // The default network's GEMMs: layer 1 over the 100 positives (layer-1 reuse), later layers
    // over 200 rows, their weight and input gradients, and one chunk of slow evaluation (1000
    // images x 10 candidate labels).
    add("forward", Epilogue::kBias, 100, 784, 2000, false, 1);
    add("forward", Epilogue::kBiasRelu, 200, 2000, 2000, false, 1);
    add("weight_grad", Epilogue::kNone, 100, 784, 2000, false, 1);
    add("weight_grad", Epilogue::kNone, 200, 2000, 2000, false, 1);
    add("input_grad", Epilogue::kNone, 200, 2000, 2000, false, 1);
    add("forward", Epilogue::kBiasRelu, 10000, 2000, 2000, false, 1);
    return;
  }
  const int shapes[][3] = {{1, 1, 1},   {3, 5, 7},     {33, 17, 65},
                           {2, 129, 3}, {64, 257, 31}, {200, 784, 129}};
  for (const auto& s : shapes) {
    for (bool misaligned : {false, true}) {
      for (uint64_t seed : {1u, 2u}) {
        for (Epilogue e : {Epilogue::kNone, Epilogue::kBias, Epilogue::kBiasRelu}) {
          add("forward", e, s[0], s[1], s[2], misaligned, seed);
        }
        add("weight_grad", Epilogue::kNone, s[0], s[1], s[2], misaligned, seed);
        add("weight_grad_acc", Epilogue::kNone, s[0], s[1], s[2], misaligned, seed);
        add("input_grad", Epilogue::kNone, s[0], s[1], s[2], misaligned, seed);
        add("generic_tt", Epilogue::kBiasRelu, s[0], s[1], s[2], misaligned, seed);
      }
    }
  }
}

}  // namespace ff::optable
