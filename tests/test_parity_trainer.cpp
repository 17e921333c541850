// End to end through the trainer: Trainer on the CPU backend and on the CUDA backend, same
// config and data, for FF (with and without layer-1 reuse) and each backprop baseline; then the
// slow evaluation and the checkpoint round trip across backends. Skips without a device.
#include <filesystem>

#include "ff/dataset.hpp"
#include "ff/train_checkpoint.hpp"
#include "ff/trainer.hpp"
#include "test_parity_util.hpp"
#include "test_util.hpp"

namespace ff::parity {
namespace {

Dataset synthetic(uint64_t seed) { return testing_util::synthetic_images(seed, 64); }

struct TrainerCase {
  std::string algo;
  Task task;
  bool reuse;
  bool long_run = false;  // --track-linear (with hard negatives and peer norm where they apply)
};

std::ostream& operator<<(std::ostream& os, const TrainerCase& c) {
  return os << c.algo << "_" << task_name(c.task) << (c.reuse ? "_reuse" : "_plain")
            << (c.long_run ? "_long_run" : "");
}

// `hard_negatives`: only where both runs are on the GPU. Against the CPU, a label drawn from
// logits that differ by GEMM rounding may (rarely) differ, and one different negative moves a
// third of a batch-3 gradient: the comparison would be of two different runs.
void apply_long_run(const TrainerCase& c, TrainConfig& config, bool hard_negatives) {
  if (!c.long_run) return;
  config.track_linear = true;
  if (c.algo == "ff") config.peer_norm = 0.03f;
  if (hard_negatives && c.algo != "bp-ce" && c.task == Task::kSupervised) {
    config.negatives = NegativesMode::kHard;
  }
}

class ParityTrainer : public ParityParamFixture<TrainerCase> {};

TEST_P(ParityTrainer, TwentyStepsMatchTheCpu) {
  const TrainerCase& c = GetParam();
  const Dataset data = synthetic(5);
  TrainConfig config;
  config.algo = parse_enum<Algo>(c.algo);
  config.task = c.task;
  config.reuse_layer1 = c.reuse;
  config.layers_spec = "3x40";
  config.batch = 3;  // 21 steps per epoch of 64 images: odd sizes everywhere
  config.seed = 9;
  config.eval_batch = 17;
  apply_long_run(c, config, false);
  Trainer cpu(*cpu_, config, data), gpu(*gpu_, config, data);
  cpu.steps().begin_epoch(0);
  gpu.steps().begin_epoch(0);
  for (int step = 0; step < 20; ++step) {
    cpu.steps().train_step(0, step);
    gpu.steps().train_step(0, step);
  }
  const std::vector<double> cpu_loss = cpu.steps().end_epoch(20),
                            gpu_loss = gpu.steps().end_epoch(20);
  ASSERT_EQ(cpu_loss.size(), gpu_loss.size());
  for (size_t i = 0; i < cpu_loss.size(); ++i) {
    // fp32 on both sides; summation orders differ (CUB trees vs loops), 20 Adam steps amplify it.
    EXPECT_NEAR(gpu_loss[i], cpu_loss[i], 1e-3 * (1 + std::fabs(cpu_loss[i]))) << "loss " << i;
  }
  // 20 Adam steps at lr 1e-3: a sign-flipped ReLU unit may drift by up to 2 * 20 * lr.
  EXPECT_TRUE(weights_agree("weights after 20 steps", gpu.model().network().params().download(),
                            cpu.model().network().params().download(), 1e-4, 1e-3, 1e-3,
                            2.0 * 20 * config.lr));
  if (cpu.model().has_tracker()) {
    EXPECT_TRUE(weights_agree(
        "tracked classifier after 20 steps", gpu.model().tracker().params().download(),
        cpu.model().tracker().params().download(), 1e-4, 1e-3, 1e-3, 2.0 * 20 * config.track_lr));
    EXPECT_NEAR(gpu.evaluator().evaluate_tracker(gpu.test_split()),
                cpu.evaluator().evaluate_tracker(cpu.test_split()), 2.0 / 64);
    EXPECT_NEAR(gpu.steps().tracked_loss(), cpu.steps().tracked_loss(),
                1e-3 * (1 + cpu.steps().tracked_loss()));
  }
  if (cpu.model().all_peer_means().size()) {
    EXPECT_TRUE(weights_agree("peer-norm running means", gpu.model().all_peer_means().download(),
                              cpu.model().all_peer_means().download(), 1e-5, 1e-3, 1e-3, 1e-2));
  }
  if (cpu.model().has_head()) {
    EXPECT_NEAR(gpu.evaluator().evaluate_head(gpu.test_split(), 1),
                cpu.evaluator().evaluate_head(cpu.test_split(), 1),
                2.0 / 64);  // a near-tie may flip
  } else if (cpu.num_labels() >= 2) {
    const SlowEvalResult a = cpu.evaluator().evaluate_slow(cpu.test_split(), 1);
    const SlowEvalResult b = gpu.evaluator().evaluate_slow(gpu.test_split(), 1);
    EXPECT_NEAR(b.accuracy, a.accuracy, 2.0 / 64);
  }
  // A checkpoint written from the GPU restores on the CPU to the same weights.
  const std::string path =
      (std::filesystem::temp_directory_path() / "ffcuda_parity_trainer.safetensors").string();
  save_training_checkpoint(path, gpu.model(), config, 1);
  Trainer restored(*cpu_, config, data);
  restore_training_checkpoint(load_checkpoint(path), path, restored.model(), config, true);
  EXPECT_EQ(restored.model().network().params().download(),
            gpu.model().network().params().download());
  std::filesystem::remove(path);
}

TEST_P(ParityTrainer, TwoGpuRunsAreBitIdentical) {
  const TrainerCase& c = GetParam();
  const Dataset data = synthetic(6);
  TrainConfig config;
  config.algo = parse_enum<Algo>(c.algo);
  config.task = c.task;
  config.reuse_layer1 = c.reuse;
  config.layers_spec = "2x33";
  config.batch = 5;
  apply_long_run(c, config, true);
  auto run = [&] {
    Trainer gpu(*gpu_, config, data);
    gpu.steps().train_epoch(0);
    std::vector<float> state = gpu.model().network().params().download();
    if (gpu.model().has_tracker()) {
      for (float w : gpu.model().tracker().params().download()) state.push_back(w);
    }
    for (float r : gpu.model().all_peer_means().download()) state.push_back(r);
    return state;
  };
  // Every kernel reduces in a fixed order and cuBLAS(Lt) is deterministic for a fixed algorithm
  // on one stream, so the same run twice must give the same bits.
  EXPECT_EQ(run(), run());
}

INSTANTIATE_TEST_SUITE_P(
    Trainer, ParityTrainer,
    ::testing::Values(TrainerCase{"ff", Task::kSupervised, true},
                      TrainerCase{"ff", Task::kSupervised, false},
                      TrainerCase{"ff", Task::kJigsaw, true},
                      TrainerCase{"ff", Task::kUnsupervised, false},
                      TrainerCase{"bp-ce", Task::kRotation, false},
                      TrainerCase{"bp-goodness-last", Task::kSupervised, false},
                      TrainerCase{"bp-goodness-all", Task::kFlipHV, false},
                      TrainerCase{"ff", Task::kSupervised, true, true},
                      TrainerCase{"bp-ce", Task::kRotation, false, true},
                      TrainerCase{"bp-goodness-all", Task::kSupervised, false, true}),
    [](const ::testing::TestParamInfo<TrainerCase>& param_info) {
      std::ostringstream name;
      name << param_info.param;
      return sanitize(name.str());
    });

}  // namespace
}  // namespace ff::parity
