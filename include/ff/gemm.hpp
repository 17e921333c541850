// GEMMs described once, in BLAS column-major terms, so the CPU backend (CBLAS) and the CUDA backend
// (cuBLAS/cuBLASLt) execute the very same descriptor and the CPU tests vouch for every transpose
// and leading dimension.
//
// All engine tensors are row-major. A row-major [r x c] matrix is, to BLAS, a column-major [c x r]
// matrix (its transpose) with leading dimension c. The helpers below do that bookkeeping once.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ff {

enum class Trans : uint8_t { kN, kT };

// C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C, column-major.
struct GemmDesc {
  Trans trans_a = Trans::kN, trans_b = Trans::kN;
  int m = 0, n = 0, k = 0;
  float alpha = 1.0f;
  int lda = 0, ldb = 0;
  float beta = 0.0f;
  int ldc = 0;
};

// What the GEMM does to C after the product. Bias has one value per column-major row of C (m
// values), i.e. one per output unit of a row-major layer.
enum class Epilogue : uint8_t { kNone, kBias, kBiasRelu };

// Y[rows x out] = X[rows x in] * W[out x in]^T        (a = W, b = X, c = Y)
inline GemmDesc linear_forward_desc(int rows, int in, int out) {
  return GemmDesc{Trans::kT, Trans::kN, out, rows, in, 1.0f, in, in, 0.0f, out};
}

// dW[out x in] = dY[rows x out]^T * X[rows x in] + beta * dW      (a = X, b = dY, c = dW)
inline GemmDesc weight_grad_desc(int rows, int in, int out, float beta = 0.0f) {
  return GemmDesc{Trans::kN, Trans::kT, in, out, rows, 1.0f, in, out, beta, in};
}

// dX[rows x in] = dY[rows x out] * W[out x in]          (a = W, b = dY, c = dX)
inline GemmDesc input_grad_desc(int rows, int in, int out) {
  return GemmDesc{Trans::kN, Trans::kN, in, rows, out, 1.0f, in, out, 0.0f, in};
}

// Arithmetic of the GEMMs. fp32: full single precision (the CPU backend and the CUDA default).
// tf32: CUDA tensor cores with 10-bit-mantissa operands and fp32 accumulation (Ampere and later);
// bf16: both operands rounded to bf16 (8-bit mantissa, round to nearest even: ff/math.hpp
// round_to_bf16), products accumulated in fp32, C in fp32. The CPU backend emulates it exactly
// (rounded operands, fp32 GEMM), so CUDA bf16 is checked against the same operand values.
// Everything outside the GEMMs (goodness, loss, optimizer state) stays fp32 in every mode.
enum class GemmPrecision : uint8_t { kFp32, kTf32, kBf16 };

// How the CPU backend runs bf16 GEMMs: on the CPU's bf16 instructions where it has them (the
// default), reading the weights from the bf16 copies the optimiser keeps beside them
// (src/cpu/cpu_bf16_mirrors.hpp); the same without those copies, every operand converted at every
// call (the mirrors' oracle: the same bits); or always as fp32 GEMMs of bf16-rounded operands
// (the oracle the tests compare the GPU's bf16 GEMMs with: the same operands, fp32 products, one
// known accumulation).
enum class CpuBf16 : uint8_t { kNativeWhereAvailable, kNativeWithoutMirrors, kEmulated };

// Elements the stored A and B of a GemmDesc span in memory (op(A) is m x k, op(B) is k x n; the
// stored matrices are their transposes when trans is set): what a copy of an operand must cover.
inline size_t operand_span(int rows, int cols, int ld) {
  return rows <= 0 || cols <= 0 ? 0 : static_cast<size_t>(ld) * (cols - 1) + rows;
}
inline size_t gemm_a_span(const GemmDesc& d) {
  return d.trans_a == Trans::kT ? operand_span(d.k, d.m, d.lda) : operand_span(d.m, d.k, d.lda);
}
inline size_t gemm_b_span(const GemmDesc& d) {
  return d.trans_b == Trans::kT ? operand_span(d.n, d.k, d.ldb) : operand_span(d.k, d.n, d.ldb);
}
inline size_t gemm_c_span(const GemmDesc& d) { return operand_span(d.m, d.n, d.ldc); }

// Floating-point operations of one GEMM (multiply and add counted separately).
inline double gemm_flops(const GemmDesc& d) { return 2.0 * d.m * d.n * static_cast<double>(d.k); }

}  // namespace ff
