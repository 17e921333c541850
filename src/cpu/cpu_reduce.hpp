// Row reductions of the CPU backend (sums of squares, dot products) in one fixed order: element j
// goes to partial sum j % kReduceLanes, and the partial sums are added pairwise at the end. A
// single running sum would be read in the written order (float addition is not associative, so
// the compiler may not reorder it) and run at one element per add latency; this order fills vector
// registers. It is the same on every x86 or other CPU and for any thread count (a row is never
// split between threads), so CPU results stay reproducible; the CUDA kernels sum in their own
// order and are compared within tolerances.
#pragma once

namespace ff {

constexpr int kReduceLanes = 16;

// part[0] += part[1..lanes-1], pairwise: (0+8, 1+9, ...), then (0+4, ...), ...
inline float combine_lanes(float (&part)[kReduceLanes]) {
  for (int width = kReduceLanes / 2; width >= 1; width /= 2) {
    for (int k = 0; k < width; ++k) part[k] += part[k + width];
  }
  return part[0];
}

// sum_j x[j]^2
inline float sum_of_squares(const float* __restrict x, int n) {
  float part[kReduceLanes] = {};
  int j = 0;
  for (; j + kReduceLanes <= n; j += kReduceLanes) {
    for (int k = 0; k < kReduceLanes; ++k) part[k] += x[j + k] * x[j + k];
  }
  for (int k = 0; j + k < n; ++k) part[k] += x[j + k] * x[j + k];
  return combine_lanes(part);
}

// sum_j x[j]^2 and sum_j x[j] y[j] in one pass.
struct SquaresAndDot {
  float squares, dot;
};
inline SquaresAndDot sum_of_squares_and_dot(const float* __restrict x, const float* __restrict y,
                                            int n) {
  float squares[kReduceLanes] = {}, dot[kReduceLanes] = {};
  int j = 0;
  for (; j + kReduceLanes <= n; j += kReduceLanes) {
    for (int k = 0; k < kReduceLanes; ++k) {
      squares[k] += x[j + k] * x[j + k];
      dot[k] += x[j + k] * y[j + k];
    }
  }
  for (int k = 0; j + k < n; ++k) {
    squares[k] += x[j + k] * x[j + k];
    dot[k] += x[j + k] * y[j + k];
  }
  return SquaresAndDot{combine_lanes(squares), combine_lanes(dot)};
}

}  // namespace ff
