// End-to-end GPU parity: 20 Forward-Forward training steps of a small net on synthetic uint8
// images, driven through the op interface exactly like src/train/ff_step.cpp's step
// (prepare_batch -> rms_norm -> per layer: gemm(forward, bias+ReLU) -> ff_loss_grad ->
// gemm(weight grad) -> column_sum -> sum_into; then one optimiser launch over all parameters).
// CPU vs CUDA: per-layer loss sums and final parameters; CUDA vs CUDA: bit-identical.
// The widths are odd (37, 21) so weights and biases in the shared parameter buffer start at
// 4-byte-aligned addresses, as in real networks of odd widths. Skips without a GPU.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ff/batch_prep.hpp"
#include "test_parity_util.hpp"

namespace ff::parity {
namespace {

constexpr int kSteps = 20, kBatch = 16, kImages = 96, kSide = 12;
constexpr float kLr = 1e-3f;

struct E2eCase {
  Task task;
  GoodnessMode goodness;
  FfLossKind loss;
  bool adam;
  uint64_t seed;
};

std::string e2e_name(const ::testing::TestParamInfo<E2eCase>& info) {
  const E2eCase& c = info.param;
  return sanitize(task_name(c.task) + (c.goodness == GoodnessMode::kSum ? "_sum" : "_mean") +
                  (c.loss == FfLossKind::kSoftplus ? "_softplus" : "_symba") +
                  (c.adam ? "_adam" : "_sgd") + "_seed" + std::to_string(c.seed));
}

void PrintTo(const E2eCase& c, std::ostream* os) {
  *os << e2e_name(::testing::TestParamInfo<E2eCase>(c, 0));
}

struct Outcome {
  std::vector<float> loss_sums, params;
};

Outcome train(Backend& be, const E2eCase& c) {
  const std::vector<int> dims = {kSide * kSide, 37, 21, 16};
  const int layers = static_cast<int>(dims.size()) - 1, rows = 2 * kBatch;
  // Parameters [W_0 b_0 W_1 b_1 ...] in one buffer (as ff::Mlp), He-uniform weights, zero biases.
  std::vector<size_t> offsets;
  size_t total = 0;
  for (int l = 0; l < layers; ++l) {
    offsets.push_back(total);
    total += static_cast<size_t>(dims[l]) * dims[l + 1] + dims[l + 1];
  }
  std::vector<float> host_params(total, 0.0f);
  for (int l = 0; l < layers; ++l) {
    const float limit = std::sqrt(6.0f / static_cast<float>(dims[l]));
    const std::vector<float> w =
        random_floats(static_cast<size_t>(dims[l]) * dims[l + 1], c.seed, 50 + l, -limit, limit);
    std::copy(w.begin(), w.end(), host_params.begin() + static_cast<std::ptrdiff_t>(offsets[l]));
  }
  Array<float> params(be, host_params), grads(be, std::vector<float>(total, 0.0f));
  Array<float> m(be, std::vector<float>(total, 0.0f)), v(be, std::vector<float>(total, 0.0f));
  auto weight = [&](Array<float>& buffer, int l) { return buffer.data() + offsets[l]; };
  auto bias = [&](Array<float>& buffer, int l) {
    return buffer.data() + offsets[l] + static_cast<size_t>(dims[l]) * dims[l + 1];
  };

  // Synthetic data: random pixels, random class labels.
  std::vector<uint8_t> images(static_cast<size_t>(kImages) * kSide * kSide), labels(kImages);
  const std::vector<int32_t> pixel_values = random_ints(images.size(), c.seed, 1, 256);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<uint8_t>(pixel_values[i]);
  const std::vector<int32_t> classes = random_ints(kImages, c.seed, 2, 10);
  for (int i = 0; i < kImages; ++i) labels[i] = static_cast<uint8_t>(classes[i]);
  Array<uint8_t> image_data(be, images), label_data(be, labels);
  Array<int32_t> indices(be, kBatch);

  Array<float> input(be, static_cast<size_t>(rows) * dims[0]);
  std::vector<Array<float>> xn, h, dz;
  for (int l = 0; l < layers; ++l) {
    xn.emplace_back(be, static_cast<size_t>(rows) * dims[l]);
    h.emplace_back(be, static_cast<size_t>(rows) * dims[l + 1]);
    dz.emplace_back(be, static_cast<size_t>(rows) * dims[l + 1]);
  }
  Array<float> pair_loss(be, kBatch), loss_sums(be, std::vector<float>(layers, 0.0f));

  BatchSpec spec;
  spec.images = image_data.data();
  spec.class_labels = label_data.data();
  spec.dataset_count = kImages;
  spec.channels = 1;
  spec.height = spec.width = kSide;
  spec.batch = kBatch;
  spec.task = c.task;
  spec.num_labels = task_num_labels(c.task, 10);
  spec.mode = LabelMode::kPositiveNegative;
  spec.seed = c.seed;
  spec.indices = indices.data();
  for (int step = 0; step < kSteps; ++step) {
    indices.upload(random_ints(kBatch, c.seed, 100 + step, kImages));
    spec.epoch = static_cast<uint64_t>(step / 5);
    be.prepare_batch(spec, input.data(), nullptr);
    be.rms_norm(input.data(), rows, dims[0], xn[0].data(), dims[0]);
    for (int l = 0; l < layers; ++l) {
      const int in = dims[l], out = dims[l + 1];
      be.gemm(linear_forward_desc(rows, in, out), weight(params, l), xn[l].data(), h[l].data(),
              Epilogue::kBiasRelu, bias(params, l));
      FfLossSpec loss;
      loss.pairs = kBatch;
      loss.width = out;
      loss.goodness = c.goodness;
      loss.loss = c.loss;
      loss.theta = c.goodness == GoodnessMode::kSum ? static_cast<float>(out) : 2.0f;
      const bool has_next = l + 1 < layers;
      be.ff_loss_grad(loss, h[l].data(), dz[l].data(), has_next ? xn[l + 1].data() : nullptr, out,
                      pair_loss.data());
      be.gemm(weight_grad_desc(rows, in, out), xn[l].data(), dz[l].data(), weight(grads, l));
      be.column_sum(dz[l].data(), rows, out, bias(grads, l), 0.0f);
      be.sum_into(pair_loss.data(), kBatch, loss_sums.data() + l);
    }
    if (c.adam) {
      AdamSpec adam;
      adam.lr = kLr;
      adam.step = step + 1;
      be.adam(adam, params.data(), grads.data(), m.data(), v.data(), total);
    } else {
      be.sgd_momentum(kLr, 0.9f, params.data(), grads.data(), m.data(), total);
    }
  }
  return Outcome{loss_sums.download(), params.download()};
}

using ParityEndToEnd = ParityParamFixture<E2eCase>;

TEST_P(ParityEndToEnd, CpuAndCudaTrainTheSameNet) {
  const E2eCase& c = GetParam();
  const Outcome cpu = train(*cpu_, c), gpu = train(*gpu_, c);

  // Loss sums: 20 steps x 16 pairs. Per-op differences are ~1e-7 relative (summation order,
  // FMA) and stay small over 20 steps (each step's batch is reproduced exactly). A CPU emulation of
  // the kernels' orders agreed to ~1e-7; 1e-4 keeps a wide margin while a wrong op (a threshold
  // off by 0.01 moved them by ~1e-3) fails.
  EXPECT_TRUE(close_to("per-layer loss sums", gpu.loss_sums, cpu.loss_sums, 1e-6, 1e-4));
  for (float s : cpu.loss_sums) EXPECT_GT(s, 0.0f) << "the loss must have been accumulated";

  // Parameters. Adam normalises each update to ~lr whatever the gradient's size, so an element
  // whose gradient is pure rounding noise (a ReLU unit on its boundary) may move by up to ~lr per
  // step on one backend only. Hence three checks: the whole vector agrees to 2e-5 relative (L2;
  // the CPU emulation of the kernels' orders gave ~1e-7, a threshold off by 0.01 gave 1e-3); at
  // most 0.1% of the elements differ by more than 1e-5 + 1e-3|w|; none by more than the largest
  // possible drift 2 * steps * lr (beyond it is a real bug, not rounding).
  ASSERT_EQ(gpu.params.size(), cpu.params.size());
  double diff2 = 0.0, norm2 = 0.0, max_diff = 0.0;
  size_t outliers = 0, worst = 0;
  for (size_t i = 0; i < cpu.params.size(); ++i) {
    ASSERT_TRUE(std::isfinite(gpu.params[i])) << "gpu param [" << i << "] = " << gpu.params[i];
    const double d = std::fabs(static_cast<double>(gpu.params[i]) - cpu.params[i]);
    diff2 += d * d;
    norm2 += static_cast<double>(cpu.params[i]) * cpu.params[i];
    if (d > 1e-5 + 1e-3 * std::fabs(cpu.params[i])) ++outliers;
    if (d > max_diff) {
      max_diff = d;
      worst = i;
    }
  }
  EXPECT_LE(std::sqrt(diff2 / norm2), 2e-5) << "relative L2 difference of the parameters";
  EXPECT_LE(outliers, cpu.params.size() / 1000)
      << outliers << " of " << cpu.params.size() << " parameters differ; worst [" << worst
      << "] gpu " << gpu.params[worst] << " cpu " << cpu.params[worst];
  EXPECT_LE(max_diff, 2.0 * kSteps * kLr)
      << "worst [" << worst << "] gpu " << gpu.params[worst] << " cpu " << cpu.params[worst];

  // Two CUDA runs, the second on a fresh backend (so the GEMM heuristics are asked again):
  // bit-identical (fixed reduction orders, deterministic algorithm choice, no float atomics).
  const Outcome again = [&] {
    const std::unique_ptr<Backend> fresh = make_backend("cuda");
    return train(*fresh, c);
  }();
  EXPECT_EQ(0, std::memcmp(again.loss_sums.data(), gpu.loss_sums.data(),
                           sizeof(float) * gpu.loss_sums.size()))
      << "loss sums differ between two CUDA runs";
  EXPECT_EQ(0,
            std::memcmp(again.params.data(), gpu.params.data(), sizeof(float) * gpu.params.size()))
      << "parameters differ between two CUDA runs";
}

INSTANTIATE_TEST_SUITE_P(
    ParitySteps20, ParityEndToEnd,
    ::testing::Values(
        E2eCase{Task::kSupervised, GoodnessMode::kSum, FfLossKind::kSoftplus, true, 1},
        E2eCase{Task::kSupervised, GoodnessMode::kSum, FfLossKind::kSoftplus, true, 2},
        E2eCase{Task::kRotation, GoodnessMode::kMean, FfLossKind::kSymba, true, 1},
        E2eCase{Task::kJigsaw, GoodnessMode::kSum, FfLossKind::kSoftplus, false, 1},
        E2eCase{Task::kFlipHV, GoodnessMode::kSum, FfLossKind::kSoftplus, true, 1}),
    e2e_name);

}  // namespace
}  // namespace ff::parity
