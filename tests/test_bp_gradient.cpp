// The whole backward pass of the three backprop baselines (CPU backend, float) against central
// finite differences of an independent double-precision forward of the same network and batch.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ff/dataset.hpp"
#include "ff/trainer.hpp"

namespace ff {
namespace {

using Vec = std::vector<double>;

// A tiny dataset: 16-pixel images (1x4x4), 10 classes, 8 images.
Dataset tiny_dataset() {
  Dataset d;
  d.name = "tiny";
  d.channels = 1;
  d.height = d.width = 4;
  d.num_classes = 10;
  for (int i = 0; i < 8 * 16; ++i)
    d.train.images.push_back(static_cast<uint8_t>((i * 97 + 13) % 251));
  for (int i = 0; i < 8; ++i) d.train.labels.push_back(static_cast<uint8_t>((i * 3) % 10));
  d.train.count = 8;
  d.test = d.train;
  return d;
}

Vec rms_norm_row(const double* x, int n) {
  double mean_square = 0;
  for (int j = 0; j < n; ++j) mean_square += x[j] * x[j] / n;
  Vec y(x, x + n);
  for (double& v : y) v /= 1e-8 + std::sqrt(mean_square);
  return y;
}

double softplus_d(double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

struct Reference {
  std::vector<int> dims;  // input, hidden...
  Algo algo;
  int pairs;
  Vec input;                // rows x dims[0]
  std::vector<int> labels;  // bp-ce: one per row

  // Loss of the batch for parameters `p` (Mlp layout) and head parameters `head`.
  double loss(const Vec& p, const Vec& head, double* min_abs_z) const {
    const int rows = algo == Algo::kBpCe ? pairs : 2 * pairs;
    const int layers = static_cast<int>(dims.size()) - 1;
    double total = 0;
    std::vector<Vec> goodness(layers, Vec(rows));
    Vec last_norm;  // rows x width of the last layer, for the head
    for (int r = 0; r < rows; ++r) {
      Vec x = rms_norm_row(&input[r * dims[0]], dims[0]);
      size_t offset = 0;
      for (int l = 0; l < layers; ++l) {
        const int in = dims[l], out = dims[l + 1];
        Vec h(out);
        double g = 0;
        for (int u = 0; u < out; ++u) {
          double z = p[offset + static_cast<size_t>(out) * in + u];
          for (int i = 0; i < in; ++i) z += p[offset + static_cast<size_t>(u) * in + i] * x[i];
          *min_abs_z = std::min(*min_abs_z, std::abs(z));
          h[u] = z > 0 ? z : 0;
          g += h[u] * h[u];
        }
        goodness[l][r] = g;
        offset += static_cast<size_t>(out) * in + out;
        x = rms_norm_row(h.data(), out);
      }
      last_norm.insert(last_norm.end(), x.begin(), x.end());
    }
    if (algo == Algo::kBpCe) {
      const int width = dims.back(), classes = 10;
      for (int r = 0; r < rows; ++r) {
        Vec logits(classes);
        double max_logit = -1e300;
        for (int c = 0; c < classes; ++c) {
          logits[c] = head[static_cast<size_t>(classes) * width + c];
          for (int i = 0; i < width; ++i)
            logits[c] += head[c * width + i] * last_norm[r * width + i];
          max_logit = std::max(max_logit, logits[c]);
        }
        double sum = 0;
        for (double z : logits) sum += std::exp(z - max_logit);
        total += std::log(sum) + max_logit - logits[labels[r]];
      }
      return total / rows;
    }
    for (int l = 0; l < layers; ++l) {
      if (algo == Algo::kBpGoodnessLast && l + 1 < layers) continue;
      const double theta = dims[l + 1];
      for (int i = 0; i < pairs; ++i) {
        total += softplus_d(theta - goodness[l][i]) + softplus_d(goodness[l][pairs + i] - theta);
      }
    }
    return total / pairs;
  }
};

void check_backward(const std::string& algo_name) {
  const Dataset data = tiny_dataset();
  TrainConfig config;
  config.algo = parse_enum<Algo>(algo_name);
  config.layers_spec = "6,5";
  config.batch = 4;
  config.seed = 21;
  auto backend = make_cpu_backend();
  Trainer trainer(*backend, config, data);
  const std::vector<float> input = trainer.steps().compute_step_gradients(0, 0);

  Reference ref;
  ref.dims = {16, 6, 5};
  ref.algo = config.algo;
  ref.pairs = config.batch;
  ref.input.assign(input.begin(), input.end());
  const std::vector<int32_t> order = shuffled_order(data.train.count, config.seed, 0);
  for (int i = 0; i < config.batch; ++i) ref.labels.push_back(data.train.labels[order[i]]);

  const std::vector<float> pf = trainer.model().network().params().download();
  const std::vector<float> gf = trainer.model().network().grads().download();
  Vec p(pf.begin(), pf.end()), head;
  std::vector<float> head_grad;
  if (trainer.model().has_head()) {
    const std::vector<float> hf = trainer.model().head().params().download();
    head.assign(hf.begin(), hf.end());
    head_grad = trainer.model().head().grads().download();
  }
  double min_abs_z = 1e300;
  ref.loss(p, head, &min_abs_z);
  ASSERT_GT(min_abs_z, 1e-4) << "the batch sits on a ReLU kink: pick another seed";

  const double eps = 1e-6;
  auto numeric = [&](Vec& params, size_t i) {
    const double saved = params[i];
    double unused = 1e300;
    params[i] = saved + eps;
    const double plus = ref.loss(p, head, &unused);
    params[i] = saved - eps;
    const double minus = ref.loss(p, head, &unused);
    params[i] = saved;
    return (plus - minus) / (2 * eps);
  };
  double largest = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double expected = numeric(p, i);
    largest = std::max(largest, std::abs(expected));
    // float analytic gradient vs double differences: 1e-3 relative covers float rounding.
    EXPECT_NEAR(gf[i], expected, 1e-4 + 1e-3 * std::abs(expected)) << algo_name << " param " << i;
  }
  EXPECT_GT(largest, 1e-3) << "gradients all ~0: the check would not detect anything";
  for (size_t i = 0; i < head.size(); ++i) {
    const double expected = numeric(head, i);
    EXPECT_NEAR(head_grad[i], expected, 1e-4 + 1e-3 * std::abs(expected)) << "head param " << i;
  }
}

TEST(BpGradient, CrossEntropyThroughEveryLayerAndNorm) { check_backward("bp-ce"); }
TEST(BpGradient, GoodnessOfTheLastLayer) { check_backward("bp-goodness-last"); }
TEST(BpGradient, GoodnessOfEveryLayer) { check_backward("bp-goodness-all"); }

}  // namespace
}  // namespace ff
