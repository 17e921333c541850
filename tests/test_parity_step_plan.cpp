// The CUDA training step's execution plans (--graphs, --pass-mode streams, --overlap) and
// --precision bf16, against the CPU oracle and against each other. Skips without a device.
//
// What must hold, and why:
// - Graph replay == the same steps issued one by one, bit for bit: the capture records the very
//   kernels, launch arguments and GEMM algorithms of an issued step, and everything that varies
//   from step to step (batch rows, epoch, Adam's constants) is read from the device cursor.
// - Streams/overlap only run independent work concurrently (each lane has its own GEMM
//   workspace), so a plan's GPU result equals that plan's serial CPU result to fp32 rounding, and
//   two GPU runs of a plan are bit-identical. (cuBLASLt plans are fixed per shape; the legacy
//   cublasSgemm fallback promises bitwise reproducibility only with one active stream, so if a
//   bit-for-bit test fails under overlap/streams, first check whether a GEMM took that fallback
//   (a GemmEngine plan without use_lt): the 3x40 shapes here are 16-byte aligned and should all
//   get cuBLASLt plans.)
// - bf16: the GPU converts operands with the CPU's rounding function (ff/math.hpp), and products
//   of two bf16 values are exact in fp32, so GPU and CPU emulation differ only in the order of
//   fp32 accumulation: relative error ~1e-6, far below bf16's own ~4e-3.
#include <cmath>

#include "ff/dataset.hpp"
#include "ff/math.hpp"
#include "ff/trainer.hpp"
#include "test_parity_util.hpp"
#include "test_util.hpp"

namespace ff::parity {
namespace {

struct PlanCase {
  std::string algo;
  bool reuse;
  std::string pass_mode;
  bool overlap;
  std::string precision;
  // The long-run options inside the step: a classifier trained alongside choosing hard negatives,
  // and peer normalisation (docs/long-runs.md).
  bool long_run = false;
};

std::ostream& operator<<(std::ostream& os, const PlanCase& c) {
  return os << c.algo << (c.reuse ? "_reuse_" : "_plain_") << c.pass_mode
            << (c.overlap ? "_overlap_" : "_serial_") << c.precision
            << (c.long_run ? "_long_run" : "");
}

TrainConfig plan_config(const PlanCase& c) {
  TrainConfig config;
  config.algo = parse_enum<Algo>(c.algo);
  config.reuse_layer1 = c.reuse;
  config.pass_mode = parse_enum<PassMode>(c.pass_mode);
  config.overlap = c.overlap;
  config.precision = parse_enum<GemmPrecision>(c.precision);
  config.layers_spec = "3x40";
  config.batch = 3;  // 21 steps per epoch of 64 images
  config.seed = 13;
  if (c.long_run) {
    config.track_linear = true;
    config.negatives = NegativesMode::kHard;
    config.peer_norm = 0.03f;
  }
  return config;
}

struct RunResult {
  std::vector<float> weights;
  std::vector<double> losses;  // both epochs' mean losses, concatenated
  double accuracy = -1;        // of the slow evaluation between the epochs (-1: none)
  bool captured = false;
};

// Two epochs (the cursor's epoch changes between them) on `backend`, with a slow evaluation
// between.
RunResult train_two_epochs(Backend& backend, TrainConfig config, const std::string& graphs) {
  config.graphs = parse_enum<GraphsMode>(graphs);
  backend.set_gemm_precision(config.precision);
  Trainer trainer(backend, config, testing_util::synthetic_images(8, 64));
  RunResult result;
  for (int epoch = 0; epoch < 2; ++epoch) {
    for (double loss : trainer.steps().train_epoch(epoch)) result.losses.push_back(loss);
    // An evaluation between epochs (as --eval-every does) runs far larger GEMMs on the main lane
    // (its bf16 scratch grows) while the captured step still holds the old scratch's address.
    if (epoch == 0 && trainer.evaluator().classifies_slowly()) {
      result.accuracy = trainer.evaluator().evaluate_slow(trainer.test_split(), 1).accuracy;
    }
  }
  result.weights = trainer.model().network().params().download();
  if (trainer.model().has_tracker()) {  // its weights and the running means are state too
    for (float w : trainer.model().tracker().params().download()) result.weights.push_back(w);
  }
  for (float r : trainer.model().all_peer_means().download()) result.weights.push_back(r);
  result.captured = trainer.steps().step_is_captured();
  backend.set_gemm_precision(GemmPrecision::kFp32);  // the shared backend's default
  return result;
}

class ParityStepPlan : public ParityParamFixture<PlanCase> {};

TEST_P(ParityStepPlan, GraphReplayEqualsIssuedStepsBitForBit) {
  const TrainConfig config = plan_config(GetParam());
  const RunResult issued = train_two_epochs(*gpu_, config, "off");
  const RunResult replayed = train_two_epochs(*gpu_, config, "on");
  ASSERT_FALSE(issued.captured);
  ASSERT_TRUE(replayed.captured) << "no step was captured: the comparison would be vacuous";
  EXPECT_EQ(replayed.losses, issued.losses);
  EXPECT_EQ(replayed.accuracy, issued.accuracy);
  EXPECT_EQ(replayed.weights, issued.weights);
}

TEST_P(ParityStepPlan, MatchesTheCpuRunningThePlanSerially) {
  const PlanCase& c = GetParam();
  TrainConfig config = plan_config(c);
  // Hard negatives are drawn from logits that differ from the CPU's by rounding: a rare different
  // label would make these two different runs (the GPU-only tests keep them).
  config.negatives = NegativesMode::kRandom;
  const RunResult gpu = train_two_epochs(*gpu_, config, "on");
  const RunResult cpu = train_two_epochs(*cpu_, config, "off");
  ASSERT_EQ(gpu.losses.size(), cpu.losses.size());
  // fp32: summation orders differ (CUB trees vs loops) and 42 Adam steps amplify it (the bound of
  // ParityTrainer). bf16: an fp32 difference can flip one operand's bf16 rounding (one bf16 ulp,
  // 2^-8 relative) in the next layer, so the bound is bf16's.
  const bool bf16 = c.precision == "bf16";
  for (size_t i = 0; i < cpu.losses.size(); ++i) {
    EXPECT_NEAR(gpu.losses[i], cpu.losses[i], (bf16 ? 2e-2 : 1e-3) * (1 + std::fabs(cpu.losses[i])))
        << "loss " << i;
  }
  EXPECT_NEAR(gpu.accuracy, cpu.accuracy, 2.0 / 64);  // a near-tie may flip
  // 2 epochs of 21 Adam steps: a sign-flipped ReLU unit may drift by up to 2 * 42 * lr. Outliers:
  // 0.1% of the weights in fp32; 0.3% in bf16, where under backprop one flipped operand rounding
  // reaches every upstream layer's gradient and Adam turns a near-zero gradient's changed sign
  // into a full lr step (an H200 run: bp-goodness-all, stacked, overlap, bf16 had 11 of 9080,
  // worst |diff| 0.0044, far inside the drift bound; a wrong kernel moves far more weights).
  EXPECT_TRUE(weights_agree("weights after 2 epochs", gpu.weights, cpu.weights, bf16 ? 2e-3 : 1e-4,
                            bf16 ? 2e-2 : 1e-3, bf16 ? 3e-3 : 1e-3, 2.0 * 42 * config.lr));
}

TEST_P(ParityStepPlan, TwoGpuRunsAreBitIdentical) {
  const TrainConfig config = plan_config(GetParam());
  EXPECT_EQ(train_two_epochs(*gpu_, config, "on").weights,
            train_two_epochs(*gpu_, config, "on").weights);
}

INSTANTIATE_TEST_SUITE_P(Plans, ParityStepPlan,
                         ::testing::Values(PlanCase{"ff", true, "stacked", true, "fp32"},
                                           PlanCase{"ff", true, "stacked", false, "fp32"},
                                           PlanCase{"ff", false, "streams", true, "fp32"},
                                           PlanCase{"ff", true, "streams", false, "fp32"},
                                           PlanCase{"ff", false, "streams", true, "bf16"},
                                           PlanCase{"ff", true, "stacked", true, "fp32", true},
                                           PlanCase{"bp-ce", false, "stacked", true, "fp32"},
                                           PlanCase{"bp-goodness-all", false, "stacked", true,
                                                    "bf16"}),
                         [](const ::testing::TestParamInfo<PlanCase>& param_info) {
                           std::ostringstream name;
                           name << param_info.param;
                           return sanitize(name.str());
                         });

// ---- bf16 GEMMs, op level ----

struct Bf16Case {
  int rows, in, out;
};

class ParityBf16Gemm : public ParityParamFixture<Bf16Case> {
 protected:
  void TearDown() override {
    if (gpu_) gpu_->set_gemm_precision(GemmPrecision::kFp32);
    if (cpu_) cpu_->set_gemm_precision(GemmPrecision::kFp32);
  }
};

TEST_P(ParityBf16Gemm, EveryDescriptorMatchesTheCpuEmulation) {
  const Bf16Case& c = GetParam();
  const size_t x_size = static_cast<size_t>(c.rows) * c.in,
               w_size = static_cast<size_t>(c.out) * c.in,
               y_size = static_cast<size_t>(c.rows) * c.out;
  Twin<float> x(*cpu_, *gpu_, random_floats(x_size, 5, 1, -1, 1));
  Twin<float> w(*cpu_, *gpu_, random_floats(w_size, 5, 2, -0.1f, 0.1f));
  Twin<float> b(*cpu_, *gpu_, random_floats(c.out, 5, 3, -0.5f, 0.5f));
  Twin<float> dy(*cpu_, *gpu_, random_floats(y_size, 5, 4, -1, 1));
  cpu_->set_gemm_precision(GemmPrecision::kBf16);
  gpu_->set_gemm_precision(GemmPrecision::kBf16);
  struct Product {
    const char* name;
    GemmDesc desc;
    Twin<float>*a, *b;
    size_t size;
    Epilogue epilogue;
  } products[] = {
      {"forward", linear_forward_desc(c.rows, c.in, c.out), &w, &x, y_size, Epilogue::kBiasRelu},
      {"weight grad", weight_grad_desc(c.rows, c.in, c.out), &x, &dy, w_size, Epilogue::kNone},
      {"input grad", input_grad_desc(c.rows, c.in, c.out), &w, &dy, x_size, Epilogue::kNone}};
  for (Product& p : products) {
    Twin<float> out = poisoned(*cpu_, *gpu_, p.size);
    const bool bias = p.epilogue != Epilogue::kNone;
    cpu_->gemm(p.desc, p.a->cpu.data(), p.b->cpu.data(), out.cpu.data(), p.epilogue,
               bias ? b.cpu.data() : nullptr);
    gpu_->gemm(p.desc, p.a->gpu.data(), p.b->gpu.data(), out.gpu.data(), p.epilogue,
               bias ? b.gpu.data() : nullptr);
    const std::vector<float> got = out.gpu.download(), want = out.cpu.download();
    for (float v : got) ASSERT_TRUE(std::isfinite(v)) << p.name << ": unwritten or non-finite";
    // Both sides multiply the same bf16-rounded operands exactly (8-bit mantissas: products fit
    // in fp32); only the fp32 accumulation differs. Hopper's tensor cores accumulate in blocks
    // with their own internal ordering and truncation, which a review estimated at 3e-6 to 8e-6
    // relative (Frobenius) at k = 2000; 5e-5 leaves margin, while a wrong operand rounding (one
    // bf16 ulp, ~4e-3) or a dropped term still fails.
    EXPECT_LT(testing_util::relative_frobenius(got, want), 5e-5) << p.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ParityBf16Gemm,
                         ::testing::Values(Bf16Case{200, 784, 500}, Bf16Case{7, 33, 5},
                                           Bf16Case{1, 1, 1}, Bf16Case{100, 2000, 2000}),
                         [](const ::testing::TestParamInfo<Bf16Case>& param_info) {
                           const Bf16Case& c = param_info.param;
                           return "rows" + std::to_string(c.rows) + "_in" + std::to_string(c.in) +
                                  "_out" + std::to_string(c.out);
                         });

// ---- the cursor-driven ops ----

class ParityCursor : public ParityFixture {};

TEST_F(ParityCursor, BatchAtTheCursorEqualsTheExplicitBatchOnBothBackends) {
  // prepare_batch at a cursor (epoch 3, step 2) == the same batch given by indices and epoch.
  const uint32_t count = 30;
  const int batch = 4;
  std::vector<uint8_t> images(count * 64), labels(count);
  const std::vector<int32_t> pixels = random_ints(images.size(), 3, 1, 256);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<uint8_t>(pixels[i]);
  for (uint32_t i = 0; i < count; ++i) labels[i] = static_cast<uint8_t>(i % 10);
  Twin<uint8_t> image_data(*cpu_, *gpu_, images), label_data(*cpu_, *gpu_, labels);
  Twin<int32_t> order(*cpu_, *gpu_, random_ints(count, 3, 2, count));
  StepCursor at;
  at.epoch = 3;
  at.step = 2;
  Twin<StepCursor> cursor(*cpu_, *gpu_, std::vector<StepCursor>{at});
  for (Backend* backend : {cpu_.get(), gpu_}) {
    const bool on_gpu = backend == gpu_;
    BatchSpec spec;
    spec.images = on_gpu ? image_data.gpu.data() : image_data.cpu.data();
    spec.class_labels = on_gpu ? label_data.gpu.data() : label_data.cpu.data();
    spec.dataset_count = count;
    spec.channels = 1;
    spec.height = spec.width = 8;
    spec.batch = batch;
    spec.task = Task::kRotation;
    spec.num_labels = 4;
    spec.seed = 5;
    const int32_t* whole_order = on_gpu ? order.gpu.data() : order.cpu.data();
    BatchSpec explicit_spec = spec;
    explicit_spec.indices = whole_order + at.step * batch;
    explicit_spec.epoch = at.epoch;
    BatchSpec cursor_spec = spec;
    cursor_spec.indices = whole_order;
    cursor_spec.epoch = 99;  // ignored: the cursor's epoch wins
    cursor_spec.cursor = on_gpu ? cursor.gpu.data() : cursor.cpu.data();
    Array<float> a(*backend, static_cast<size_t>(2 * batch) * 64), b(*backend, a.size());
    backend->prepare_batch(explicit_spec, a.data(), nullptr);
    backend->prepare_batch(cursor_spec, b.data(), nullptr);
    EXPECT_EQ(b.download(), a.download()) << backend->name();
  }
}

}  // namespace
}  // namespace ff::parity
