// The FF layer gradient of the CPU backend (fused loss pass + weight-gradient GEMM descriptor)
// against central finite differences of an independent double-precision implementation of the loss.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "ff/backend.hpp"
#include "ff/math.hpp"

namespace ff {
namespace {

struct Layer {
  int pairs, in, out;
  std::vector<double> x;     // [2*pairs x in], already normalised inputs
  std::vector<double> w, b;  // [out x in], [out]
};

// Mean over the batch of the FF loss, all in double, written from docs/what-it-computes.md without
// the engine.
double layer_loss(const Layer& L, const FfLossSpec& s) {
  std::vector<double> goodness(2 * L.pairs);
  for (int r = 0; r < 2 * L.pairs; ++r) {
    double g = 0;
    for (int u = 0; u < L.out; ++u) {
      double z = L.b[u];
      for (int i = 0; i < L.in; ++i) z += L.w[u * L.in + i] * L.x[r * L.in + i];
      const double h = z > 0 ? z : 0;
      g += h * h;
    }
    goodness[r] = s.goodness == GoodnessMode::kSum ? g : g / L.out;
  }
  double total = 0;
  for (int i = 0; i < L.pairs; ++i) {
    const double gp = goodness[i], gn = goodness[L.pairs + i];
    if (s.loss == FfLossKind::kSymba) {
      total += std::log1p(std::exp(-s.symba_alpha * (gp - gn)));
    } else {
      total += std::log1p(std::exp(-(gp - s.theta))) + std::log1p(std::exp(gn - s.theta));
    }
  }
  return total / L.pairs;
}

// Smallest |pre-activation| of the layer: finite differences are only valid away from ReLU kinks.
double min_abs_preactivation(const Layer& L) {
  double smallest = 1e30;
  for (int r = 0; r < 2 * L.pairs; ++r) {
    for (int u = 0; u < L.out; ++u) {
      double z = L.b[u];
      for (int i = 0; i < L.in; ++i) z += L.w[u * L.in + i] * L.x[r * L.in + i];
      smallest = std::min(smallest, std::abs(z));
    }
  }
  return smallest;
}

void check_gradient(FfLossSpec spec, uint32_t seed) {
  Layer L{3, 5, 4, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (int i = 0; i < 2 * L.pairs * L.in; ++i) L.x.push_back(normal(rng));
  for (int i = 0; i < L.out * L.in; ++i) L.w.push_back(0.6 * normal(rng));
  for (int i = 0; i < L.out; ++i) L.b.push_back(0.3 * normal(rng));
  spec.pairs = L.pairs;
  spec.width = L.out;
  ASSERT_GT(min_abs_preactivation(L), 1e-3) << "seed " << seed << " lands on a ReLU kink";

  auto backend = make_cpu_backend();
  const int rows = 2 * L.pairs;
  std::vector<float> x(L.x.begin(), L.x.end()), w(L.w.begin(), L.w.end()),
      b(L.b.begin(), L.b.end());
  std::vector<float> h(rows * L.out), dz(rows * L.out), pair_loss(L.pairs), dw(L.out * L.in),
      db(L.out);
  backend->gemm(linear_forward_desc(rows, L.in, L.out), w.data(), x.data(), h.data(),
                Epilogue::kBiasRelu, b.data());
  backend->ff_loss_grad(spec, h.data(), dz.data(), nullptr, 0, pair_loss.data());
  backend->gemm(weight_grad_desc(rows, L.in, L.out), x.data(), dz.data(), dw.data());
  backend->column_sum(dz.data(), rows, L.out, db.data(), 0.0f);

  double loss_from_pairs = 0;
  for (float v : pair_loss) loss_from_pairs += v;
  EXPECT_NEAR(loss_from_pairs / L.pairs, layer_loss(L, spec), 1e-4 * (1 + layer_loss(L, spec)));

  const double eps = 1e-6;
  auto numeric = [&](std::vector<double>& param, size_t i) {
    const double saved = param[i];
    param[i] = saved + eps;
    const double plus = layer_loss(L, spec);
    param[i] = saved - eps;
    const double minus = layer_loss(L, spec);
    param[i] = saved;
    return (plus - minus) / (2 * eps);
  };
  for (size_t i = 0; i < L.w.size(); ++i) {
    const double expected = numeric(L.w, i);
    EXPECT_NEAR(dw[i], expected, 1e-4 + 1e-3 * std::abs(expected))
        << "dW[" << i << "] seed " << seed;
  }
  for (size_t i = 0; i < L.b.size(); ++i) {
    const double expected = numeric(L.b, i);
    EXPECT_NEAR(db[i], expected, 1e-4 + 1e-3 * std::abs(expected))
        << "db[" << i << "] seed " << seed;
  }
}

TEST(FfGradient, SoftplusSumGoodnessMatchesFiniteDifferences) {
  FfLossSpec spec;
  spec.theta = 4.0f;  // near the goodness of these rows, so the sigmoids are not saturated
  for (uint32_t seed : {1u, 2u, 3u}) check_gradient(spec, seed);
}

TEST(FfGradient, MeanGoodnessMatchesFiniteDifferences) {
  FfLossSpec spec;
  spec.goodness = GoodnessMode::kMean;
  spec.theta = 1.0f;
  for (uint32_t seed : {4u, 5u}) check_gradient(spec, seed);
}

TEST(FfGradient, SymbaMatchesFiniteDifferences) {
  FfLossSpec spec;
  spec.loss = FfLossKind::kSymba;
  spec.symba_alpha = 0.5f;
  for (uint32_t seed : {6u, 7u}) check_gradient(spec, seed);
}

TEST(FfGradient, NormalisedOutputHasUnitRms) {
  auto backend = make_cpu_backend();
  std::vector<float> h = {1, 2, 0, 3, 0, 0, 5, 1}, dz(8), norm(8), pair_loss(1);
  FfLossSpec spec;
  spec.pairs = 1;
  spec.width = 4;
  spec.theta = 4;
  backend->ff_loss_grad(spec, h.data(), dz.data(), norm.data(), 4, pair_loss.data());
  for (int r = 0; r < 2; ++r) {
    double mean_square = 0;
    for (int j = 0; j < 4; ++j) mean_square += norm[r * 4 + j] * norm[r * 4 + j] / 4.0;
    EXPECT_NEAR(mean_square, 1.0, 1e-5);
  }
  EXPECT_FLOAT_EQ(norm[2], 0.0f);
}

}  // namespace
}  // namespace ff
