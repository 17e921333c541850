// GPU parity, table-driven: the data, Forward-Forward and backprop row ops (prepare_batch,
// ff_loss_grad, goodness_score, rms_norm_relu_backward, argmax, softmax_xent) for op x shape x
// variant x seed; prepare_batch for every task (the unsupervised hybrid negatives included) x
// label mode. The CPU backend is the oracle. Inputs of the goodness ops are multiples of 1/16
// (quantized_floats), so every sum of squares and dot product is exact in fp32 in any order and
// the comparison checks the kernels' logic with tolerances of a few ulp (libm differences, FMA
// contraction), not summation order. Skips without a GPU.
#include <string>
#include <utility>
#include <vector>

#include "ff/batch_prep.hpp"
#include "ff/error.hpp"
#include "test_parity_util.hpp"

namespace ff::parity {
namespace {

// ---- prepare_batch ----
struct BatchCase {
  Task task;
  LabelMode mode;
  bool transform;
  int channels, size, batch;
  uint64_t seed;
};

const char* mode_name(LabelMode mode) {
  switch (mode) {
    case LabelMode::kPositiveNegative:
      return "posneg";
    case LabelMode::kNeutral:
      return "neutral";
    case LabelMode::kAllCandidates:
      return "candidates";
    case LabelMode::kNone:
      return "nolabel";
  }
  return "mode";
}

std::string batch_name(const ::testing::TestParamInfo<BatchCase>& info) {
  const BatchCase& c = info.param;
  return sanitize(task_name(c.task) + "_" + mode_name(c.mode) +
                  (c.transform ? "" : "_untransformed") + "_" + std::to_string(c.channels) + "x" +
                  std::to_string(c.size) + "x" + std::to_string(c.size) + "_batch" +
                  std::to_string(c.batch) + "_seed" + std::to_string(c.seed));
}

void PrintTo(const BatchCase& c, std::ostream* os) {
  *os << batch_name(::testing::TestParamInfo<BatchCase>(c, 0));
}

using ParityPrepareBatch = ParityParamFixture<BatchCase>;

TEST_P(ParityPrepareBatch, MatchesCpu) {
  const BatchCase& c = GetParam();
  const uint32_t count = 40;
  const size_t pixels = static_cast<size_t>(c.channels) * c.size * c.size;
  std::vector<uint8_t> images(count * pixels), labels(count);
  const std::vector<int32_t> pixel_values = random_ints(images.size(), c.seed, 1, 256);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<uint8_t>(pixel_values[i]);
  const std::vector<int32_t> classes = random_ints(count, c.seed, 2, 10);
  for (uint32_t i = 0; i < count; ++i) labels[i] = static_cast<uint8_t>(classes[i]);
  Twin<uint8_t> image_data(*cpu_, *gpu_, images), label_data(*cpu_, *gpu_, labels);
  Twin<int32_t> indices(*cpu_, *gpu_, random_ints(c.batch, c.seed, 3, count));

  BatchSpec spec;
  spec.dataset_count = count;
  spec.channels = c.channels;
  spec.height = spec.width = c.size;
  spec.batch = c.batch;
  spec.task = c.task;
  spec.num_labels = task_num_labels(c.task, 10);
  spec.mode = c.mode;
  spec.seed = c.seed;
  spec.epoch = 3;
  spec.apply_transform = c.transform;
  const size_t out_size = static_cast<size_t>(batch_rows(spec)) * pixels;
  Twin<float> out = poisoned(*cpu_, *gpu_, out_size);
  Twin<int32_t> task_labels(*cpu_, *gpu_, std::vector<int32_t>(c.batch, -7));

  BatchSpec cpu_spec = spec, gpu_spec = spec;
  cpu_spec.images = image_data.cpu.data();
  cpu_spec.class_labels = label_data.cpu.data();
  cpu_spec.indices = indices.cpu.data();
  gpu_spec.images = image_data.gpu.data();
  gpu_spec.class_labels = label_data.gpu.data();
  gpu_spec.indices = indices.gpu.data();
  cpu_->prepare_batch(cpu_spec, out.cpu.data(), task_labels.cpu.data());
  gpu_->prepare_batch(gpu_spec, out.gpu.data(), task_labels.gpu.data());
  // Same draws (Philox), same index maps and the same single multiply by 1/255: bit-identical.
  EXPECT_TRUE(equal_to("prepare_batch rows", out.gpu.download(), out.cpu.download()));
  EXPECT_TRUE(equal_to("prepare_batch task labels", task_labels.gpu.download(),
                       task_labels.cpu.download()));
}

std::vector<BatchCase> batch_cases() {
  std::vector<BatchCase> cases;
  const Task tasks[] = {Task::kSupervised, Task::kRotation, Task::kFlipH,
                        Task::kFlipHV,     Task::kJigsaw,   Task::kUnsupervised};
  const LabelMode modes[] = {LabelMode::kPositiveNegative, LabelMode::kNeutral,
                             LabelMode::kAllCandidates, LabelMode::kNone};
  // 784 and 3072 values per row (MNIST, CIFAR shapes: not multiples of the 256-thread block) and
  // a tiny 6x6 image with 33 samples; batch 1 included.
  const int shapes[][3] = {{1, 28, 7}, {3, 32, 1}, {1, 6, 33}};
  for (Task task : tasks) {
    for (LabelMode mode : modes) {
      for (const auto& s : shapes) {
        for (uint64_t seed : {1u, 2u}) cases.push_back({task, mode, true, s[0], s[1], s[2], seed});
      }
    }
    cases.push_back({task, LabelMode::kPositiveNegative, false, 1, 28, 7, 1});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(ParityTable, ParityPrepareBatch, ::testing::ValuesIn(batch_cases()),
                         batch_name);

using ParityPrepareBatchErrors = ParityFixture;

// Where the CPU refuses a batch (the unsupervised task's mask scratch holds 32x32; a hybrid
// needs a second image), the CUDA backend refuses it too, with ff::Error.
TEST_F(ParityPrepareBatchErrors, UnsupervisedLimitsLikeTheCpu) {
  for (const auto& [side, count] : {std::pair{33, 40u}, std::pair{28, 1u}}) {
    BatchSpec spec;
    spec.task = Task::kUnsupervised;
    spec.channels = 1;
    spec.height = spec.width = side;
    spec.dataset_count = count;
    spec.batch = 1;
    Array<float> out(*gpu_, 2 * static_cast<size_t>(side) * side);
    EXPECT_THROW(cpu_->prepare_batch(spec, nullptr, nullptr), Error) << side << " " << count;
    EXPECT_THROW(gpu_->prepare_batch(spec, out.data(), nullptr), Error) << side << " " << count;
  }
}

// ---- row ops on layer outputs ----
struct RowCase {
  std::string op, variant;
  int rows, cols;  // ff_loss_grad: pairs x width; argmax: items x classes
  uint64_t seed;
  void (*run)(Backend& cpu, Backend& gpu, const RowCase& c);
};

std::string row_name(const ::testing::TestParamInfo<RowCase>& info) {
  const RowCase& c = info.param;
  return sanitize(c.op + "_" + std::to_string(c.rows) + "x" + std::to_string(c.cols) + "_" +
                  c.variant + "_seed" + std::to_string(c.seed));
}

void PrintTo(const RowCase& c, std::ostream* os) {
  *os << row_name(::testing::TestParamInfo<RowCase>(c, 0));
}

// ReLU outputs, multiples of 1/16 in [0, 2.5]: sums of squares exact in fp32 (< 2^22 / 256).
std::vector<float> relu_outputs(size_t n, uint64_t seed) {
  std::vector<float> h = quantized_floats(n, seed, 7, -1.5f, 2.5f);
  for (float& v : h) v = v > 0.0f ? v : 0.0f;
  return h;
}

void run_ff_loss_grad(Backend& cpu, Backend& gpu, const RowCase& c) {
  FfLossSpec spec;
  spec.pairs = c.rows;
  spec.width = c.cols;
  spec.loss = c.variant.starts_with("symba") ? FfLossKind::kSymba : FfLossKind::kSoftplus;
  spec.goodness =
      c.variant.find("mean") != std::string::npos ? GoodnessMode::kMean : GoodnessMode::kSum;
  // E[h^2] ~ 1.3 for these inputs: put theta there so rows fall on both sides of it.
  spec.theta = spec.goodness == GoodnessMode::kSum ? 1.3f * c.cols : 1.3f;
  const bool with_norm = c.variant.find("norm") != std::string::npos;
  const int ld_norm = c.variant.find("gap") != std::string::npos ? c.cols + 3 : c.cols;
  const size_t size = 2 * static_cast<size_t>(c.rows) * c.cols;
  Twin<float> h(cpu, gpu, relu_outputs(size, c.seed));
  Twin<float> dz = poisoned(cpu, gpu, size);
  Twin<float> norm = poisoned(cpu, gpu, 2 * static_cast<size_t>(c.rows) * ld_norm);
  Twin<float> loss = poisoned(cpu, gpu, c.rows);
  cpu.ff_loss_grad(spec, h.cpu.data(), dz.cpu.data(), with_norm ? norm.cpu.data() : nullptr,
                   ld_norm, loss.cpu.data());
  gpu.ff_loss_grad(spec, h.gpu.data(), dz.gpu.data(), with_norm ? norm.gpu.data() : nullptr,
                   ld_norm, loss.gpu.data());
  // The goodness is exact on both sides; what differs is libm: expf/log1pf of the device (<= 2
  // ulp) vs glibc (<= 1 ulp) inside softplus/sigmoid. 2e-6 relative is ~16 ulp.
  EXPECT_TRUE(close_to("ff pair_loss", loss.gpu.download(), loss.cpu.download(), 1e-30, 2e-6));
  EXPECT_TRUE(close_to("ff dz", dz.gpu.download(), dz.cpu.download(), 1e-30, 2e-6));
  // Same exact sum, sqrtf and division are IEEE on both: only a contraction could differ.
  // Without h_norm both stay all-NaN (the op must not write it).
  EXPECT_TRUE(close_to("ff h_norm", norm.gpu.download(), norm.cpu.download(), 0.0, 1e-6));
}

void run_goodness_score(Backend& cpu, Backend& gpu, const RowCase& c) {
  const bool accumulate = c.variant.find("acc") != std::string::npos;
  const GoodnessMode mode =
      c.variant.find("mean") != std::string::npos ? GoodnessMode::kMean : GoodnessMode::kSum;
  const float theta = mode == GoodnessMode::kSum ? 1.3f * c.cols : 1.3f;
  Twin<float> h(cpu, gpu, relu_outputs(static_cast<size_t>(c.rows) * c.cols, c.seed));
  Twin<float> scores = accumulate ? Twin<float>(cpu, gpu, random_floats(c.rows, c.seed, 2, -5, 5))
                                  : poisoned(cpu, gpu, c.rows);
  cpu.goodness_score(h.cpu.data(), c.rows, c.cols, theta, mode, scores.cpu.data(), accumulate);
  gpu.goodness_score(h.gpu.data(), c.rows, c.cols, theta, mode, scores.gpu.data(), accumulate);
  // Exact sums, then the same IEEE subtraction/division/addition: bit-identical is expected;
  // 1e-6 relative (~8 ulp) only absorbs a contraction.
  EXPECT_TRUE(close_to("goodness_score", scores.gpu.download(), scores.cpu.download(), 0.0, 1e-6));
}

void run_rms_norm_relu_backward(Backend& cpu, Backend& gpu, const RowCase& c) {
  const bool accumulate = c.variant == "accumulate";
  const size_t size = static_cast<size_t>(c.rows) * c.cols;
  Twin<float> h(cpu, gpu, relu_outputs(size, c.seed));
  Twin<float> g(cpu, gpu, quantized_floats(size, c.seed, 3, -1.0f, 1.0f));  // exact dot(g, h)
  Twin<float> dz = accumulate ? Twin<float>(cpu, gpu, random_floats(size, c.seed, 4, -1, 1))
                              : poisoned(cpu, gpu, size);
  cpu.rms_norm_relu_backward(h.cpu.data(), g.cpu.data(), c.rows, c.cols, dz.cpu.data(), accumulate);
  gpu.rms_norm_relu_backward(h.gpu.data(), g.gpu.data(), c.rows, c.cols, dz.gpu.data(), accumulate);
  // Exact sums give both sides the same two scalars; s*g - c*h may be contracted into an FMA on
  // one side only, a difference of ~1 ulp of the larger product (both O(1) here) that survives
  // cancellation: hence an absolute 1e-6 (~8 ulp of 1) next to 1e-6 relative.
  EXPECT_TRUE(close_to("rms_norm_relu_backward", dz.gpu.download(), dz.cpu.download(), 1e-6, 1e-6));
}

void run_argmax(Backend& cpu, Backend& gpu, const RowCase& c) {
  const bool class_major = c.variant == "class_major";  // the slow classifier's [C x B] scores
  const int item_stride = class_major ? 1 : c.cols, class_stride = class_major ? c.rows : 1;
  // Values in {0, 1, 2, 3}: most items have tied maxima, which must resolve to the first.
  std::vector<float> x = random_floats(static_cast<size_t>(c.rows) * c.cols, c.seed, 1, 0, 3);
  for (float& v : x) v = std::round(v);
  Twin<float> scores(cpu, gpu, x);
  Twin<int32_t> out(cpu, gpu, std::vector<int32_t>(c.rows, -7));
  cpu.argmax(scores.cpu.data(), c.rows, c.cols, item_stride, class_stride, out.cpu.data());
  gpu.argmax(scores.gpu.data(), c.rows, c.cols, item_stride, class_stride, out.gpu.data());
  EXPECT_TRUE(equal_to("argmax", out.gpu.download(), out.cpu.download()));  // indices: exact
}

void run_softmax_xent(Backend& cpu, Backend& gpu, const RowCase& c) {
  const bool with_grad = c.variant == "grad";
  const float grad_scale = 1.0f / static_cast<float>(c.rows);
  const size_t size = static_cast<size_t>(c.rows) * c.cols;
  Twin<float> logits(cpu, gpu, random_floats(size, c.seed, 1, -4, 4));
  Twin<int32_t> labels(cpu, gpu, random_ints(c.rows, c.seed, 2, c.cols));
  Twin<float> dlogits = poisoned(cpu, gpu, size);
  Twin<float> loss = poisoned(cpu, gpu, c.rows);
  cpu.softmax_xent(logits.cpu.data(), labels.cpu.data(), c.rows, c.cols, grad_scale,
                   with_grad ? dlogits.cpu.data() : nullptr, loss.cpu.data());
  gpu.softmax_xent(logits.gpu.data(), labels.gpu.data(), c.rows, c.cols, grad_scale,
                   with_grad ? dlogits.gpu.data() : nullptr, loss.gpu.data());
  // The sum of `classes` exponentials is added in a different order (warp tree vs sequential):
  // relative error <= classes * 2^-24 worst case, which log() turns into the same absolute error
  // on the loss and on every log-probability; plus a few ulp of expf/logf.
  const double order = 2e-7 * c.cols + 1e-6;
  EXPECT_TRUE(close_to("softmax row_loss", loss.gpu.download(), loss.cpu.download(), order, 1e-5));
  EXPECT_TRUE(close_to("softmax dlogits", dlogits.gpu.download(), dlogits.cpu.download(),
                       order * grad_scale, 1e-5));
}

std::vector<RowCase> row_cases() {
  std::vector<RowCase> cases;
  auto add = [&](const std::string& op, const std::string& variant, int rows, int cols,
                 void (*run)(Backend&, Backend&, const RowCase&)) {
    for (uint64_t seed : {1u, 2u}) cases.push_back({op, variant, rows, cols, seed, run});
  };
  const int layer_shapes[][2] = {{1, 1},   {1, 7},     {3, 255}, {5, 256},
                                 {7, 257}, {16, 2000}, {100, 64}};
  for (const auto& s : layer_shapes) {
    for (const char* v :
         {"softplus_sum_norm", "softplus_mean", "symba_sum_norm_gap", "symba_mean"}) {
      add("ff_loss_grad", v, s[0], s[1], run_ff_loss_grad);
    }
    for (const char* v : {"sum", "mean_acc"}) {
      add("goodness_score", v, s[0], s[1], run_goodness_score);
    }
    for (const char* v : {"overwrite", "accumulate"}) {
      add("rms_norm_relu_backward", v, s[0], s[1], run_rms_norm_relu_backward);
    }
  }
  const int class_shapes[][2] = {{1, 1}, {7, 2}, {33, 10}, {100, 10}, {5, 24}, {3, 257}, {1000, 4}};
  for (const auto& s : class_shapes) {
    for (const char* v : {"row_major", "class_major"}) add("argmax", v, s[0], s[1], run_argmax);
    for (const char* v : {"grad", "loss_only"}) {
      add("softmax_xent", v, s[0], s[1], run_softmax_xent);
    }
  }
  return cases;
}

using ParityRowOps = ParityParamFixture<RowCase>;

TEST_P(ParityRowOps, MatchesCpu) { GetParam().run(*cpu_, *gpu_, GetParam()); }

INSTANTIATE_TEST_SUITE_P(ParityTable, ParityRowOps, ::testing::ValuesIn(row_cases()), row_name);

}  // namespace
}  // namespace ff::parity
