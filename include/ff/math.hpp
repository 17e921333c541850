// Element-wise math shared by the CPU and CUDA backends.
#pragma once

#include <cmath>

#include "ff/hd.hpp"

namespace ff {

// log(1 + exp(x)) without overflow for large |x|: for x > 0 it is x + log1p(exp(-x)).
FF_HD float softplus(float x) {
  return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
}
FF_HD double softplus(double x) { return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

// 1 / (1 + exp(-x)) without overflow: exp is only ever taken of a non-positive number.
FF_HD float sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
  const float e = expf(x);
  return e / (1.0f + e);
}
FF_HD double sigmoid(double x) {
  if (x >= 0.0) return 1.0 / (1.0 + exp(-x));
  const double e = exp(x);
  return e / (1.0 + e);
}

// RMS-norm scale of SPEC.md: norm(a) = a / (1e-8 + sqrt(mean(a^2))). Takes sum(a^2) and the count.
FF_HD float rms_inverse_scale(float sum_squares, int count) {
  return 1.0f / (1e-8f + sqrtf(sum_squares / static_cast<float>(count)));
}

}  // namespace ff
