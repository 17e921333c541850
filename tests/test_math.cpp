// Shared host/device math: softplus/sigmoid stability, Philox, negatives, norm, Adam.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "ff/backend.hpp"
#include "ff/batch_prep.hpp"
#include "ff/math.hpp"
#include "ff/philox.hpp"

namespace ff {
namespace {

TEST(Math, SoftplusAndSigmoidNeverOverflow) {
  for (float x : {-1e30f, -1000.0f, -88.0f, -20.0f, 0.0f, 20.0f, 88.0f, 1000.0f, 1e30f}) {
    EXPECT_TRUE(std::isfinite(softplus(x))) << x;
    EXPECT_TRUE(std::isfinite(sigmoid(x))) << x;
    EXPECT_GE(sigmoid(x), 0.0f);
    EXPECT_LE(sigmoid(x), 1.0f);
  }
  EXPECT_FLOAT_EQ(softplus(1000.0f), 1000.0f);
  EXPECT_FLOAT_EQ(softplus(0.0f), std::log(2.0f));
  EXPECT_NEAR(softplus(-30.0f), std::exp(-30.0f), 1e-20);
  EXPECT_FLOAT_EQ(sigmoid(0.0f), 0.5f);
  EXPECT_NEAR(sigmoid(2.0f), 1.0 / (1.0 + std::exp(-2.0)), 1e-7);
}

TEST(Philox, KnownAnswer) {
  // Known-answer vectors of Random123 (kat_vectors, philox4x32 10 rounds).
  const Philox4 zero = philox4x32_10(Philox4{{0, 0, 0, 0}}, 0, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  const Philox4 out = philox4x32_10(Philox4{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}},
                                    0xffffffffu, 0xffffffffu);
  EXPECT_EQ(out.v[0], 0x408f276du);
  EXPECT_EQ(out.v[1], 0x41c83b0eu);
  EXPECT_EQ(out.v[2], 0xa20bc7c6u);
  EXPECT_EQ(out.v[3], 0x6d5451fdu);
}

TEST(Philox, DrawsDependOnEveryKeyPart) {
  const uint32_t base = random_words(1, 2, 3, RandomPurpose::kNegativeLabel).v[0];
  EXPECT_NE(base, random_words(2, 2, 3, RandomPurpose::kNegativeLabel).v[0]);
  EXPECT_NE(base, random_words(1, 3, 3, RandomPurpose::kNegativeLabel).v[0]);
  EXPECT_NE(base, random_words(1, 2, 4, RandomPurpose::kNegativeLabel).v[0]);
  EXPECT_NE(base, random_words(1, 2, 3, RandomPurpose::kTransform).v[0]);
  EXPECT_EQ(base, random_words(1, 2, 3, RandomPurpose::kNegativeLabel).v[0]);
}

TEST(Negatives, NeverTheTrueLabelAndUniformOverTheOthers) {
  for (int labels : {2, 4, 10, 24}) {
    std::vector<int> counts(labels, 0);
    const int true_label = labels / 2;
    const int draws = 20000;
    for (int i = 0; i < draws; ++i) {
      const SampleDraw d = draw_sample(Task::kSupervised, labels, 7, i / 1000, i, true_label);
      ASSERT_NE(d.wrong_label, true_label);
      ASSERT_GE(d.wrong_label, 0);
      ASSERT_LT(d.wrong_label, labels);
      ++counts[d.wrong_label];
    }
    const double expected = static_cast<double>(draws) / (labels - 1);
    for (int c = 0; c < labels; ++c) {
      if (c == true_label) continue;
      EXPECT_NEAR(counts[c], expected, 6 * std::sqrt(expected))
          << "label " << c << " of " << labels;
    }
  }
}

TEST(Negatives, TransformTasksLabelTheTransform) {
  std::set<int> seen;
  for (uint32_t i = 0; i < 500; ++i) {
    const SampleDraw d = draw_sample(Task::kRotation, 4, 1, 0, i, 9);
    EXPECT_EQ(d.task_label, d.transform);
    EXPECT_NE(d.wrong_label, d.task_label);
    seen.insert(d.transform);
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(CpuOps, RmsNormMatchesHandComputedValues) {
  auto backend = make_cpu_backend();
  // Row (3, 4): mean square 12.5, rms 3.5355339; row of zeros stays zero (the 1e-8 guard).
  std::vector<float> in = {3, 4, 0, 0};
  std::vector<float> out(6, -1.0f);
  backend->rms_norm(in.data(), 2, 2, out.data(), 3);  // ld_out 3: third column untouched
  EXPECT_NEAR(out[0], 3 / std::sqrt(12.5), 1e-6);
  EXPECT_NEAR(out[1], 4 / std::sqrt(12.5), 1e-6);
  EXPECT_EQ(out[2], -1.0f);
  EXPECT_EQ(out[3], 0.0f);
  EXPECT_EQ(out[4], 0.0f);
}

TEST(CpuOps, AdamMatchesHandComputedSteps) {
  auto backend = make_cpu_backend();
  float param = 1.0f, m = 0.0f, v = 0.0f;
  AdamSpec spec;
  spec.lr = 0.1f;
  // Step 1 with grad 0.5: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25 -> p -= 0.1 * 0.5 / 0.5.
  float grad = 0.5f;
  spec.step = 1;
  backend->adam(spec, &param, &grad, &m, &v, 1);
  EXPECT_NEAR(m, 0.05f, 1e-7);
  EXPECT_NEAR(v, 0.00025f, 1e-8);  // float (1 - beta2) is off by 1.3e-5 relative
  EXPECT_NEAR(param, 0.9f, 1e-6);
  // Step 2 with grad -1: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975,
  // mhat = -0.055 / 0.19, vhat = 0.00124975 / 0.001999.
  grad = -1.0f;
  spec.step = 2;
  backend->adam(spec, &param, &grad, &m, &v, 1);
  const double mhat = -0.055 / 0.19, vhat = 0.00124975 / (1 - 0.999 * 0.999);
  EXPECT_NEAR(param, 0.9 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8), 1e-5);
}

TEST(CpuOps, LabelEmbeddingOneHotAndNeutral) {
  auto backend = make_cpu_backend();
  std::vector<uint8_t> image(16, 255), labels = {3};
  Array<uint8_t> images_dev(*backend, image), labels_dev(*backend, labels);
  Array<int32_t> indices(*backend, std::vector<int32_t>{0});
  BatchSpec spec;
  spec.images = images_dev.data();
  spec.class_labels = labels_dev.data();
  spec.dataset_count = 1;
  spec.channels = 1;
  spec.height = spec.width = 4;
  spec.indices = indices.data();
  spec.batch = 1;
  spec.num_labels = 5;  // class 3 fits
  spec.mode = LabelMode::kPositiveNegative;
  std::vector<float> out(32);
  int32_t task_label = -1;
  backend->prepare_batch(spec, out.data(), &task_label);
  EXPECT_EQ(task_label, 3);
  for (int j = 0; j < 5; ++j) EXPECT_EQ(out[j], j == 3 ? 1.0f : 0.0f) << j;
  for (int j = 5; j < 16; ++j) EXPECT_EQ(out[j], 1.0f) << j;  // 255 scaled to 1
  int negative = -1;
  for (int j = 0; j < 5; ++j) {
    if (out[16 + j] == 1.0f) negative = j;
  }
  EXPECT_NE(negative, 3);
  EXPECT_GE(negative, 0);
  spec.mode = LabelMode::kNeutral;
  backend->prepare_batch(spec, out.data(), nullptr);
  for (int j = 0; j < 5; ++j) EXPECT_FLOAT_EQ(out[j], 0.2f);
}

}  // namespace
}  // namespace ff

namespace ff {
namespace {

TEST(ArrayLifetime, AnArrayOutlivingItsBackendIsSafe) {
  Array<float> survivor;
  {
    auto backend = make_cpu_backend();
    survivor = Array<float>(*backend, std::vector<float>{1, 2, 3});
    EXPECT_EQ(survivor.download(), (std::vector<float>{1, 2, 3}));
  }
  // The backend is gone: destroying the array must not call into it (ASan/valgrind would flag a
  // use-after-free here before this change).
  survivor = Array<float>();
  EXPECT_EQ(survivor.size(), 0u);
}

}  // namespace
}  // namespace ff
