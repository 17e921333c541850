// `ffcuda bench` counts FLOPs over, and times alone, the GEMMs a training step issues. They are
// recorded from the step itself; this checks the bench's list against what a backend receives
// during one step of the same configuration, recorded independently.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ff/bench.hpp"
#include "ff/trainer.hpp"
#include "train/gemm_recorder.hpp"

namespace ff {
namespace {

// MNIST-shaped random images (bench trains on synthetic images of the dataset's shape).
Dataset mnist_shaped(size_t count) {
  Dataset d = dataset_layout("mnist");
  for (ImageSet* set : {&d.train, &d.test}) {
    set->count = count;
    for (size_t i = 0; i < count * d.pixels(); ++i)
      set->images.push_back(static_cast<uint8_t>(i * 37));
    for (size_t i = 0; i < count; ++i) set->labels.push_back(static_cast<uint8_t>(i % 10));
  }
  return d;
}

nlohmann::json gemm_json(const RecordedGemm& g) {
  return {{"m", g.desc.m},
          {"n", g.desc.n},
          {"k", g.desc.k},
          {"trans_a", g.desc.trans_a == Trans::kT},
          {"trans_b", g.desc.trans_b == Trans::kT},
          {"epilogue", static_cast<int>(g.epilogue)}};
}

class BenchGemms : public ::testing::TestWithParam<const char*> {};

TEST_P(BenchGemms, AreExactlyThoseTheBackendReceivesDuringAStep) {
  BenchConfig bench;
  bench.train.algo = parse_enum<Algo>(GetParam());
  bench.train.layers_spec = "3x24";
  bench.train.batch = 6;
  bench.train.device = DeviceChoice::kCpu;
  bench.train.pass_mode = std::string(GetParam()) == "ff" ? PassMode::kStreams : PassMode::kStacked;
  bench.warmup = 1;
  bench.iterations = 2;
  bench.eval_images = 0;
  const nlohmann::json reported = run_bench(bench);

  const std::unique_ptr<Backend> cpu = make_cpu_backend();
  GemmRecorder recorder(*cpu);
  Trainer trainer(recorder, bench.train, mnist_shaped(12));
  trainer.steps().begin_epoch(0);
  recorder.start_recording();
  trainer.steps().train_step(0, 0);
  const std::vector<RecordedGemm> received = recorder.stop_recording();

  ASSERT_FALSE(received.empty());
  nlohmann::json expected = nlohmann::json::array();
  double flops = 0;
  for (const RecordedGemm& g : received) {
    expected.push_back(gemm_json(g));
    flops += gemm_flops(g.desc);
  }
  EXPECT_EQ(reported.at("step_gemms"), expected);
  EXPECT_EQ(reported.at("step_gemm_flops").get<double>(), flops);
}

std::string algo_test_name(const ::testing::TestParamInfo<const char*>& param) {
  std::string name = param.param;
  for (char& c : name) c = c == '-' ? '_' : c;
  return name;
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, BenchGemms,
                         ::testing::Values("ff", "bp-ce", "bp-goodness-last", "bp-goodness-all"),
                         algo_test_name);

TEST(GemmRecorder, KnowsWhichMemoryIsStillAllocated) {
  const std::unique_ptr<Backend> cpu = make_cpu_backend();
  GemmRecorder recorder(*cpu);
  Array<float> kept(recorder, 100);
  const float* freed_at = nullptr;
  {
    Array<float> freed(recorder, 50);
    freed_at = freed.data();
    EXPECT_TRUE(recorder.is_live(freed_at, 50 * sizeof(float)));
  }
  EXPECT_TRUE(recorder.is_live(kept.data() + 10, 90 * sizeof(float)));
  EXPECT_FALSE(recorder.is_live(kept.data() + 10, 91 * sizeof(float)));  // runs past the end
  EXPECT_FALSE(recorder.is_live(freed_at, sizeof(float)));
}

}  // namespace
}  // namespace ff
