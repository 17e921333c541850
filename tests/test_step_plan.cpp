// The training step's execution plans on the CPU backend (which runs every plan serially, as the
// oracle of the CUDA ones): --pass-mode, --overlap, the device step cursor, --graphs' backend
// check, and the bf16 emulation of --precision bf16. The CUDA side is in test_parity_step_plan.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "ff/error.hpp"
#include "ff/math.hpp"
#include "ff/philox.hpp"
#include "ff/trainer.hpp"
#include "test_util.hpp"

namespace ff {
namespace {

Dataset synthetic_images() { return testing_util::synthetic_images(4, 96); }  // 16 steps of 6

TrainConfig plan_config() {
  TrainConfig config;
  config.layers_spec = "3x24";
  config.batch = 6;
  config.seed = 11;
  config.reuse_layer1 = false;  // every layer through the pass-mode path
  return config;
}

std::vector<float> weights_after_steps(const TrainConfig& config, int steps) {
  auto backend = make_cpu_backend();
  Trainer trainer(*backend, config, synthetic_images());
  trainer.steps().begin_epoch(0);
  for (int s = 0; s < steps; ++s) trainer.steps().train_step(0, s);
  return trainer.model().network().params().download();
}

TEST(StepPlan, OverlapChangesNothingOnTheCpu) {
  // Lanes only reorder independent work; the CPU runs ops as issued, so the bits are the same.
  TrainConfig config = plan_config();
  config.overlap = false;
  const std::vector<float> serial = weights_after_steps(config, 8);
  config.overlap = true;
  EXPECT_EQ(weights_after_steps(config, 8), serial);
}

TEST(StepPlan, StreamsPassModeEqualsStackedUpToRounding) {
  // Two B-row GEMMs instead of one 2B-row GEMM: the same dot products, possibly blocked
  // differently by the BLAS, so equal up to fp32 rounding after 8 Adam steps.
  TrainConfig config = plan_config();
  const std::vector<float> stacked = weights_after_steps(config, 8);
  config.pass_mode = PassMode::kStreams;
  const std::vector<float> streams = weights_after_steps(config, 8);
  ASSERT_EQ(streams.size(), stacked.size());
  EXPECT_LT(testing_util::relative_frobenius(streams, stacked), 1e-5);
  // And it really trained: the weights moved from their initialisation.
  EXPECT_GT(testing_util::relative_frobenius(stacked, weights_after_steps(config, 0)), 1e-3);
}

TEST(StepPlan, AStepRunsTheBatchItNamesWhereverTheCursorStood) {
  // train_step(0, 5) right after begin_epoch must move the device cursor to step 5 and compute
  // exactly the gradients of batch 5 (compute_step_gradients runs the same batch directly).
  const Dataset data = synthetic_images();
  const TrainConfig config = plan_config();
  auto backend = make_cpu_backend();
  Trainer direct(*backend, config, data);
  direct.steps().compute_step_gradients(0, 5);
  Trainer stepped(*backend, config, data);
  stepped.steps().begin_epoch(0);
  stepped.steps().train_step(
      0, 5);  // the optimiser then updates weights; the gradients stay in grads()
  EXPECT_EQ(stepped.model().network().grads().download(),
            direct.model().network().grads().download());
  // ...and differs from batch 0 (the check can fail).
  Trainer first(*backend, config, data);
  first.steps().compute_step_gradients(0, 0);
  EXPECT_NE(first.model().network().grads().download(),
            direct.model().network().grads().download());
}

TEST(StepPlan, ScheduledAdamEqualsPerStepAdam) {
  // The trainer's Adam reads its constants from a schedule made at begin_epoch; a plain
  // Optimizer::step computes them per step. Same function, same values: same bits.
  auto backend = make_cpu_backend();
  const std::vector<float> grads_host = {0.5f, -0.25f, 1e-3f, 3.0f};
  Array<float> grads(*backend, grads_host), a(*backend, std::vector<float>{1, 2, 3, 4}),
      b(*backend, std::vector<float>{1, 2, 3, 4});
  Optimizer plain(*backend, 4, OptimizerKind::kAdam, 1e-2f, 0.9f),
      scheduled(*backend, 4, OptimizerKind::kAdam, 1e-2f, 0.9f);
  Array<AdamScalars> schedule(*backend, scheduled.schedule(3));
  Array<StepCursor> cursor(*backend, std::vector<StepCursor>(1));
  for (int step = 0; step < 3; ++step) {
    plain.step(a, grads);
    scheduled.enqueue_scheduled_step(b, grads, schedule.data(), cursor.data());
    scheduled.count_step();
    backend->advance_cursor(cursor.data());
  }
  EXPECT_EQ(b.download(), a.download());
  EXPECT_EQ(scheduled.steps_taken(), 3);
  EXPECT_EQ(cursor.download()[0].step, 3);
  EXPECT_NE(a.download(), (std::vector<float>{1, 2, 3, 4}));
}

TEST(StepPlan, FfUpdatesEachLayerAsItsGradientIsDoneWithTheBitsOfOneUpdateAfterTheStep) {
  // The FF step updates layer l right after its weight gradient (EarlyUpdates). Oracle: the same
  // steps as gradients only (compute_step_gradients), each followed by one plain optimiser step
  // over all parameters. Adam and SGD, with and without the layer-1 reuse and the overlap lane.
  const Dataset data = synthetic_images();
  for (const OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kSgd}) {
    for (const bool reuse : {false, true}) {
      TrainConfig config = plan_config();
      config.optimizer = kind;
      config.reuse_layer1 = reuse;
      config.overlap = reuse;
      auto backend = make_cpu_backend();
      Trainer early(*backend, config, data), oracle(*backend, config, data);
      Mlp& oracle_net = oracle.model().network();
      early.steps().begin_epoch(0);
      for (int s = 0; s < 4; ++s) {
        early.steps().train_step(0, s);
        oracle.steps().compute_step_gradients(0, s);
        oracle.model().optimizer().step(oracle_net.params(), oracle_net.grads());
      }
      const std::vector<float> expected = oracle_net.params().download();
      EXPECT_EQ(early.model().network().params().download(), expected)
          << "optimizer " << static_cast<int>(kind) << ", reuse " << reuse;
      EXPECT_EQ(early.model().optimizer().first_moment().download(),
                oracle.model().optimizer().first_moment().download());
      // The weights moved (the comparison can fail).
      EXPECT_NE(expected, Trainer(*backend, config, data).model().network().params().download());
    }
  }
}

TEST(StepPlan, GraphsOnNeedsTheCudaBackend) {
  TrainConfig config = plan_config();
  config.graphs = GraphsMode::kOn;
  auto backend = make_cpu_backend();
  try {
    Trainer trainer(*backend, config, synthetic_images());
    ADD_FAILURE() << "--graphs on accepted on the CPU";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--graphs off"), std::string::npos) << e.what();
  }
  config.graphs = GraphsMode::kAuto;  // resolves to off on the CPU: trains, never captures
  Trainer trainer(*backend, config, synthetic_images());
  trainer.steps().train_epoch(0);
  EXPECT_FALSE(trainer.steps().step_is_captured());
  EXPECT_THROW(parse_enum<GraphsMode>("sometimes"), Error);
  EXPECT_THROW(parse_enum<PassMode>("parallel"), Error);
}

// ---- bf16 ----

uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}

TEST(Bf16, RoundsToNearestTiesToEven) {
  const float ulp = std::ldexp(1.0f, -7);  // bf16 spacing just above 1
  EXPECT_EQ(round_to_bf16(1.0f), 1.0f);
  EXPECT_EQ(round_to_bf16(1.0f + ulp), 1.0f + ulp);             // representable
  EXPECT_EQ(round_to_bf16(1.0f + ulp / 2), 1.0f);               // tie -> even (1.0)
  EXPECT_EQ(round_to_bf16(1.0f + 1.5f * ulp), 1.0f + 2 * ulp);  // tie -> even
  EXPECT_EQ(round_to_bf16(1.0f + ulp / 2 + std::ldexp(1.0f, -20)), 1.0f + ulp);  // above the tie
  EXPECT_EQ(round_to_bf16(1.0f + ulp / 2 - std::ldexp(1.0f, -20)), 1.0f);        // below it
  EXPECT_EQ(round_to_bf16(-(1.0f + 1.5f * ulp)), -(1.0f + 2 * ulp));             // symmetric
  EXPECT_EQ(round_to_bf16(0.0f), 0.0f);
  EXPECT_EQ(bits_of(round_to_bf16(-0.0f)), bits_of(-0.0f));
  EXPECT_EQ(round_to_bf16(INFINITY), INFINITY);
  EXPECT_EQ(round_to_bf16(3.4028235e38f), INFINITY);  // overflow rounds up to infinity
  EXPECT_TRUE(std::isnan(round_to_bf16(NAN)));
  EXPECT_EQ(bf16_bits_of(1.0f), 0x3f80);
  EXPECT_EQ(bf16_bits_of(-2.0f), 0xc000);
  // Every result is a bf16: its low 16 bits are zero.
  for (float x : {0.1f, 3.14159f, -1234.567f, 1e-30f, 6.5e4f}) {
    EXPECT_EQ(bits_of(round_to_bf16(x)) & 0xffffu, 0u) << x;
    EXPECT_LE(std::fabs(round_to_bf16(x) - x), std::fabs(x) * std::ldexp(1.0f, -8)) << x;
  }
}

TEST(Bf16, CpuEmulationMultipliesTheRoundedOperandsInFp32) {
  // Rows 7, in 33, out 5: odd sizes; all three GEMM descriptors of the engine.
  const int rows = 7, in = 33, out = 5;
  auto fill = [](size_t n, uint32_t tag) {
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] =
          uniform_float(random_words(2, tag, static_cast<uint32_t>(i), RandomPurpose::kInit).v[0]) -
          0.5f;
    }
    return x;
  };
  auto rounded = [](std::vector<float> x) {
    for (float& v : x) v = round_to_bf16(v);
    return x;
  };
  const std::vector<float> x = fill(static_cast<size_t>(rows) * in, 1),
                           w = fill(static_cast<size_t>(out) * in, 2),
                           dy = fill(static_cast<size_t>(rows) * out, 3);
  struct Case {
    GemmDesc desc;
    const std::vector<float>*a, *b;
    size_t c_size;
  } cases[] = {{linear_forward_desc(rows, in, out), &w, &x, static_cast<size_t>(rows) * out},
               {weight_grad_desc(rows, in, out), &x, &dy, static_cast<size_t>(out) * in},
               {input_grad_desc(rows, in, out), &w, &dy, static_cast<size_t>(rows) * in}};
  auto backend = make_cpu_backend();
  for (const Case& c : cases) {
    auto product = [&](GemmPrecision precision, const std::vector<float>& a,
                       const std::vector<float>& b) {
      backend->set_gemm_precision(precision);
      Array<float> da(*backend, a), db(*backend, b), dc(*backend, c.c_size);
      backend->gemm(c.desc, da.data(), db.data(), dc.data());
      return dc.download();
    };
    const std::vector<float> emulated = product(GemmPrecision::kBf16, *c.a, *c.b);
    EXPECT_EQ(emulated, product(GemmPrecision::kFp32, rounded(*c.a), rounded(*c.b)));
    const double error =
        testing_util::relative_frobenius(emulated, product(GemmPrecision::kFp32, *c.a, *c.b));
    EXPECT_GT(error, 1e-4) << "no bf16 rounding visible";
    EXPECT_LT(error, 1e-2) << "more than bf16 rounding";
  }
}

}  // namespace
}  // namespace ff
