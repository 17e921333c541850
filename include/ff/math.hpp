// Element-wise math shared by the CPU and CUDA backends.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "ff/hd.hpp"

namespace ff {

// log(1 + exp(x)) without overflow for large |x|: for x > 0 it is x + log1p(exp(-x)).
FF_HD float softplus(float x) { return x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x)); }
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

// RMS-norm scale (docs/what-it-computes.md): norm(a) = a / (1e-8 + sqrt(mean(a^2))). Takes sum(a^2)
// and the count.
FF_HD float rms_inverse_scale(float sum_squares, int count) {
  return 1.0f / (1e-8f + sqrtf(sum_squares / static_cast<float>(count)));
}

// ---- peer normalisation (ff/ops.hpp: PeerNormSpec) ----
// A unit's running mean after a batch whose positives' mean activity is `batch_mean`.
FF_HD float peer_norm_running_mean(float momentum, float running, float batch_mean) {
  return momentum * running + (1.0f - momentum) * batch_mean;
}

// dL/dh[b, j] for a positive row b of L = lambda * mean_j (r_j - m)^2 (m = mean_k r_k), through
// this batch's term of r_j: dL/dr_j = 2 lambda (r_j - m) / width (the terms through m cancel, as
// the deviations from a mean sum to zero), dr_j/dh[b, j] = (1 - momentum) / B.
FF_HD float peer_norm_gradient(float lambda, float momentum, int width, int pairs, float r_j,
                               float mean_r) {
  return 2.0f * lambda * (r_j - mean_r) / static_cast<float>(width) * (1.0f - momentum) /
         static_cast<float>(pairs);
}

// ---- bf16 GEMM operands (--precision bf16) ----
// The bf16 nearest to x (ties to even), as its 16 bits: the upper half of x's float bits, rounded.
// Both backends call it (the CUDA conversion kernel stores these bits, the CPU emulation widens
// them back), so the CPU emulation of --precision bf16 multiplies exactly the GPU's operands.
// Overflow rounds to infinity, as IEEE rounding does; a NaN stays a (quiet) NaN.
FF_HD uint16_t bf16_bits_of(float x) {
  uint32_t bits;
#if defined(__CUDA_ARCH__)
  bits = __float_as_uint(x);
#else
  std::memcpy(&bits, &x, sizeof bits);
#endif
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

FF_HD float float_of_bf16_bits(uint16_t half) {
  const uint32_t bits = static_cast<uint32_t>(half) << 16;
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
#endif
}

// x rounded to bf16 and widened back: the value a bf16 GEMM operand holds.
FF_HD float round_to_bf16(float x) { return float_of_bf16_bits(bf16_bits_of(x)); }

}  // namespace ff

#include "ff/ops.hpp"

namespace ff {

// Adam's per-element update with the bias corrections folded into two scalars (computed once per
// step on the host): p -= step_size * m / (sqrt(v) * inv_sqrt_correction2 + eps).
inline AdamScalars adam_scalars(const AdamSpec& s) {
  const double correction1 = 1.0 - std::pow(static_cast<double>(s.beta1), s.step);
  const double correction2 = 1.0 - std::pow(static_cast<double>(s.beta2), s.step);
  return AdamScalars{s.beta1, s.beta2, s.eps, static_cast<float>(s.lr / correction1),
                     static_cast<float>(1.0 / std::sqrt(correction2))};
}

// What a backend passes as `direct` below, computed on the host: adam_scalars(spec), or nothing
// when the spec reads its constants from a schedule.
inline AdamScalars direct_adam_scalars(const AdamSpec& s) {
  return s.schedule != nullptr ? AdamScalars{} : adam_scalars(s);
}

// This step's constants: the schedule's entry at the cursor when the spec has one (AdamSpec), else
// `direct` (adam_scalars of the spec, computed by the caller on the host).
FF_HD AdamScalars scheduled_adam_scalars(const AdamScalars& direct, const AdamScalars* schedule,
                                         const StepCursor* cursor) {
  return schedule != nullptr ? schedule[cursor->step] : direct;
}

FF_HD void adam_element(const AdamScalars& a, float grad, float* param, float* m, float* v) {
  const float mi = a.beta1 * *m + (1.0f - a.beta1) * grad;
  const float vi = a.beta2 * *v + (1.0f - a.beta2) * grad * grad;
  *m = mi;
  *v = vi;
  *param -= a.step_size * mi / (sqrtf(vi) * a.inv_sqrt_correction2 + a.eps);
}

// Goodness of a row from its sum of squares: the sum itself, or the mean (--goodness mean).
FF_HD float goodness_from_sum(float sum_squares, int width, GoodnessMode mode) {
  return mode == GoodnessMode::kSum ? sum_squares : sum_squares / static_cast<float>(width);
}

// dG/dh_j = dG_factor * h_j: 2 for the sum, 2/width for the mean.
FF_HD float goodness_grad_factor(int width, GoodnessMode mode) {
  return mode == GoodnessMode::kSum ? 2.0f : 2.0f / static_cast<float>(width);
}

// The FF loss of one positive/negative pair and its derivatives by the two goodnesses.
struct PairLoss {
  float loss, dloss_dpos, dloss_dneg;
};

FF_HD PairLoss ff_pair_loss(const FfLossSpec& s, float g_pos, float g_neg) {
  if (s.loss == FfLossKind::kSymba) {
    // softplus(-alpha (Gp - Gn)); d/dGp = -alpha sigmoid(-alpha (Gp - Gn)).
    const float margin = -s.symba_alpha * (g_pos - g_neg);
    const float d = s.symba_alpha * sigmoid(margin);
    return PairLoss{softplus(margin), -d, d};
  }
  // softplus(-(Gp - theta)) + softplus(Gn - theta);
  // dL/dG = -sigmoid(theta - Gp) for the positive, +sigmoid(Gn - theta) for the negative.
  return PairLoss{softplus(s.theta - g_pos) + softplus(g_neg - s.theta), -sigmoid(s.theta - g_pos),
                  sigmoid(g_neg - s.theta)};
}

}  // namespace ff

namespace ff {

// Backward of y = relu-output h normalised, x_norm = h * s with s = 1/(1e-8 + r), r = sqrt(mean
// h^2), followed by the ReLU mask: dz_i = [h_i > 0] * (s * g_i - c * h_i) where g = dL/dx_norm and
// c = s^2 * dot(g, h) / (N r). The full Jacobian of the norm, not an approximation.
struct RmsBackwardScalars {
  float s, c;
};

FF_HD RmsBackwardScalars rms_backward_scalars(float sum_squares, float dot_gh, int count) {
  const float r = sqrtf(sum_squares / static_cast<float>(count));
  const float s = 1.0f / (1e-8f + r);
  // r == 0 means h == 0: every dz is masked to 0, c is irrelevant (and would divide by 0).
  const float c = r > 0.0f ? s * s * dot_gh / (static_cast<float>(count) * r) : 0.0f;
  return RmsBackwardScalars{s, c};
}

FF_HD float rms_relu_backward_element(const RmsBackwardScalars& k, float h, float g) {
  return h > 0.0f ? k.s * g - k.c * h : 0.0f;
}

}  // namespace ff
