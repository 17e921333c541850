// What long runs add to training (CPU backend): the linear classifier trained alongside
// (--track-linear), hard negatives drawn from its opinion (--negatives hard) and peer
// normalisation (--peer-norm). The classifier must learn and leave the network alone; a resumed
// run must draw the same curve; hard negatives must follow the logits and never be the true label;
// the peer-norm gradient must match finite differences of the loss it belongs to.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "ff/backend.hpp"
#include "ff/batch_prep.hpp"
#include "ff/error.hpp"
#include "ff/train_checkpoint.hpp"
#include "ff/trainer.hpp"
#include "test_util.hpp"

namespace ff {
namespace {

// 12x12 images whose class c is a bright row (row 1 + c) over dim noise: linearly separable in the
// pixels, so in any reasonable features of them. Row 0 holds the embedded labels.
Dataset striped_images(size_t count) {
  Dataset d = testing_util::synthetic_images(7, count);
  for (ImageSet* set : {&d.train, &d.test}) {
    for (size_t i = 0; i < set->count; ++i) {
      uint8_t* image = set->images.data() + i * 144;
      for (int p = 0; p < 144; ++p) image[p] = static_cast<uint8_t>(image[p] % 40);
      const int row = 1 + set->labels[i];
      for (int col = 0; col < 12; ++col) image[row * 12 + col] = 255;
    }
  }
  return d;
}

TrainConfig tracked_config() {
  TrainConfig config;
  config.layers_spec = "2x64";
  config.batch = 50;
  config.seed = 11;
  config.eval_batch = 200;
  config.track_linear = true;
  config.track_lr = 1e-2f;
  return config;
}

TEST(TrackedClassifier, LearnsALinearlySeparableSetWithoutTouchingTheNetwork) {
  const Dataset data = striped_images(1000);
  auto backend = make_cpu_backend();
  TrainConfig config = tracked_config();
  Trainer tracked(*backend, config, data);
  // Zero weights before training: every image gets class 0, so about a tenth are right.
  EXPECT_LT(tracked.evaluator().evaluate_tracker(tracked.test_split()), 0.2);
  std::vector<double> curve;
  for (int epoch = 0; epoch < 4; ++epoch) {
    tracked.steps().train_epoch(epoch);
    curve.push_back(tracked.evaluator().evaluate_tracker(tracked.test_split()));
  }
  // Chance is 10%; separable classes are read out almost perfectly once it has learnt.
  EXPECT_GT(curve.back(), 0.9) << "curve " << ::testing::PrintToString(curve);
  EXPECT_GT(tracked.steps().tracked_loss(), 0.0);
  EXPECT_LT(tracked.steps().tracked_loss(), 2.0);  // below log(10): it learnt on its batches

  // No gradient reaches the network: the same run without the classifier trains the same weights.
  config.track_linear = false;
  Trainer plain(*backend, config, data);
  for (int epoch = 0; epoch < 4; ++epoch) plain.steps().train_epoch(epoch);
  EXPECT_EQ(tracked.model().network().params().download(),
            plain.model().network().params().download());
}

TEST(TrackedClassifier, ReadsOutTheClassOfAPretextTaskAndOfBackprop) {
  const Dataset data = striped_images(600);
  auto backend = make_cpu_backend();
  for (Algo algo : {Algo::kFf, Algo::kBpCe}) {
    TrainConfig config = tracked_config();
    config.task = Task::kFlipH;  // the classifier reads the class, not the pretext label
    config.algo = algo;
    Trainer trainer(*backend, config, data);
    for (int epoch = 0; epoch < 3; ++epoch) trainer.steps().train_epoch(epoch);
    EXPECT_GT(trainer.evaluator().evaluate_tracker(trainer.test_split()), 0.8) << enum_name(algo);
  }
}

// Everything the long-run options keep as state (the classifier and its Adam, the peer-norm
// running means, the hard negatives' dependence on both) survives a checkpoint: the resumed run
// draws the curve the uninterrupted one draws, bit for bit.
TEST(TrackedClassifier, AResumedRunDrawsTheIdenticalCurve) {
  const Dataset data = striped_images(400);
  auto backend = make_cpu_backend();
  TrainConfig config = tracked_config();
  config.negatives = NegativesMode::kHard;
  config.peer_norm = 0.03f;
  const std::string path =
      (std::filesystem::temp_directory_path() / "ffcuda_tracked_resume.safetensors").string();
  auto epoch_point = [](Trainer& trainer, int epoch) {
    std::vector<double> point = trainer.steps().train_epoch(epoch);
    point.push_back(trainer.steps().tracked_loss());
    point.push_back(trainer.evaluator().evaluate_tracker(trainer.test_split()));
    return point;
  };

  Trainer straight(*backend, config, data);
  std::vector<std::vector<double>> straight_curve;
  for (int epoch = 0; epoch < 4; ++epoch) straight_curve.push_back(epoch_point(straight, epoch));

  std::vector<std::vector<double>> resumed_curve;
  {
    Trainer first_half(*backend, config, data);
    for (int epoch = 0; epoch < 2; ++epoch) resumed_curve.push_back(epoch_point(first_half, epoch));
    save_training_checkpoint(path, first_half.model(), config, 2);
  }
  Trainer resumed(*backend, config, data);
  const Checkpoint checkpoint = load_checkpoint(path);
  ASSERT_EQ(restore_training_checkpoint(checkpoint, path, resumed.model(), config, true), 2);
  for (int epoch = 2; epoch < 4; ++epoch) resumed_curve.push_back(epoch_point(resumed, epoch));

  EXPECT_EQ(resumed_curve, straight_curve);
  EXPECT_EQ(resumed.model().tracker().params().download(),
            straight.model().tracker().params().download());
  EXPECT_EQ(resumed.model().all_peer_means().download(),
            straight.model().all_peer_means().download());
  EXPECT_EQ(resumed.model().network().params().download(),
            straight.model().network().params().download());

  // Other scoring layers would feed the classifier other features under the same tensor shapes.
  TrainConfig other_layers = config;
  other_layers.score_layers = "1";
  try {
    require_matching_config(checkpoint, path, other_layers);
    ADD_FAILURE() << "a tracked checkpoint resumed with other scoring layers";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("score_layers"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

// A batch of `classes`-way labels over `count` dataset rows, in host memory (the CPU backend's).
struct HostBatch {
  std::vector<uint8_t> class_labels;
  std::vector<int32_t> indices;
  BatchSpec spec;
  HostBatch(int count, int classes) {
    for (int i = 0; i < count; ++i) {
      class_labels.push_back(static_cast<uint8_t>(i % classes));
      indices.push_back(i);
    }
    spec.class_labels = class_labels.data();
    spec.indices = indices.data();
    spec.dataset_count = static_cast<uint32_t>(count);
    spec.batch = count;
    spec.task = Task::kSupervised;
    spec.num_labels = classes;
    spec.seed = 5;
    spec.epoch = 2;
  }
};

TEST(HardNegatives, FollowAForcedClassifierAndNeverPickTheTrueLabel) {
  const int classes = 10, count = 40;
  HostBatch batch(count, classes);
  std::vector<float> logits(static_cast<size_t>(count) * classes, 0.0f);
  std::vector<int32_t> expected(count);
  for (int i = 0; i < count; ++i) {
    const int truth = i % classes;
    float* row = logits.data() + static_cast<size_t>(i) * classes;
    if (i % 2 == 0) {
      expected[i] = (truth + 3) % classes;  // the classifier is sure of a wrong class
      row[expected[i]] = 40.0f;
    } else {
      row[truth] = 60.0f;  // sure of the right one: the negative is its second choice
      expected[i] = (truth + 7) % classes;
      row[expected[i]] = 30.0f;
    }
  }
  std::vector<int32_t> out(count, -1);
  make_cpu_backend()->hard_negative_labels(batch.spec, logits.data(), classes, out.data());
  EXPECT_EQ(out, expected);
}

TEST(HardNegatives, AreDrawnInProportionToTheClassifiersOtherProbabilities) {
  // p(c) proportional to c + 1; with the true label removed, the negative of a true-3 image is c
  // with probability (c + 1) / (55 - 4).
  const int classes = 10, count = 20000, truth = 3;
  HostBatch batch(count, classes);
  std::fill(batch.class_labels.begin(), batch.class_labels.end(), static_cast<uint8_t>(truth));
  std::vector<float> logits;
  for (int i = 0; i < count; ++i) {
    for (int c = 0; c < classes; ++c) logits.push_back(std::log(static_cast<float>(c + 1)));
  }
  std::vector<int32_t> out(count);
  make_cpu_backend()->hard_negative_labels(batch.spec, logits.data(), classes, out.data());
  std::vector<int> seen(classes, 0);
  for (int32_t label : out) ++seen[label];
  EXPECT_EQ(seen[truth], 0);
  for (int c = 0; c < classes; ++c) {
    if (c == truth) continue;
    const double expected = (c + 1) / 51.0;
    // Philox draws are fixed, so this cannot flake; 4 standard deviations of a binomial.
    const double sd = std::sqrt(expected * (1 - expected) / count);
    EXPECT_NEAR(seen[c] / static_cast<double>(count), expected, 4 * sd) << "class " << c;
  }
}

TEST(HardNegatives, ReachTheBatchThroughPrepareBatchAndClassLabelsComeOutOnRequest) {
  // Given negatives land in the negatives' label values; then a rotation batch (4 labels) reports
  // the images' classes when asked to.
  Dataset data = testing_util::synthetic_images(3, 8);
  HostBatch batch(8, 10);
  for (int i = 0; i < 8; ++i) batch.class_labels[i] = data.train.labels[i];
  BatchSpec spec = batch.spec;
  spec.images = data.train.images.data();
  spec.channels = 1;
  spec.height = spec.width = 12;
  spec.mode = LabelMode::kPositiveNegative;
  const std::vector<int32_t> negatives = {1, 2, 3, 4, 5, 6, 7, 8};
  spec.negative_labels = negatives.data();
  std::vector<float> rows(16 * 144);
  std::vector<int32_t> labels(8);
  auto backend = make_cpu_backend();
  backend->prepare_batch(spec, rows.data(), labels.data());
  for (int i = 0; i < 8; ++i) {
    const float* negative = rows.data() + static_cast<size_t>(8 + i) * 144;
    for (int c = 0; c < 10; ++c) {
      EXPECT_EQ(negative[c], c == negatives[i] ? 1.0f : 0.0f) << "sample " << i << " value " << c;
    }
  }
  spec.negative_labels = nullptr;
  spec.task = Task::kRotation;
  spec.num_labels = 4;
  spec.mode = LabelMode::kNeutral;
  spec.output_class_labels = true;
  backend->prepare_batch(spec, rows.data(), labels.data());
  for (int i = 0; i < 8; ++i) EXPECT_EQ(labels[i], data.train.labels[i]) << "sample " << i;
}

// The peer loss of a layer, in double, written from its definition: r_j = m r0_j + (1 - m) x the
// mean of relu(z[b, j]) over the positives; L = lambda * mean_j (r_j - mean_k r_k)^2.
double peer_loss(const std::vector<double>& z, const std::vector<double>& r0, int pairs, int width,
                 double lambda, double momentum) {
  std::vector<double> r(width);
  double mean = 0;
  for (int j = 0; j < width; ++j) {
    double sum = 0;
    for (int b = 0; b < pairs; ++b) sum += std::max(0.0, z[static_cast<size_t>(b) * width + j]);
    r[j] = momentum * r0[j] + (1 - momentum) * sum / pairs;
    mean += r[j] / width;
  }
  double loss = 0;
  for (int j = 0; j < width; ++j) loss += (r[j] - mean) * (r[j] - mean) / width;
  return lambda * loss;
}

TEST(PeerNorm, GradientMatchesFiniteDifferencesOfTheLoss) {
  const int pairs = 3, width = 6;
  const double lambda = 0.7, momentum = 0.9;
  std::vector<double> z(2 * static_cast<size_t>(pairs) * width), r0(width);
  for (size_t i = 0; i < z.size(); ++i) {
    const Philox4 w = random_words(21, 1, static_cast<uint32_t>(i), RandomPurpose::kInit);
    const double u = uniform_float(w.v[0]);
    z[i] = (u < 0.5 ? -1.0 : 1.0) * (0.1 + u);  // |z| >= 0.1: finite differences stay off the kink
  }
  for (int j = 0; j < width; ++j) r0[j] = 0.2 * j + 0.3;

  std::vector<float> h(z.size()), running(r0.begin(), r0.end()), dz(z.size(), 0.0f);
  for (size_t i = 0; i < z.size(); ++i) h[i] = static_cast<float>(std::max(0.0, z[i]));
  PeerNormSpec spec;
  spec.pairs = pairs;
  spec.width = width;
  spec.lambda = static_cast<float>(lambda);
  spec.momentum = static_cast<float>(momentum);
  make_cpu_backend()->peer_norm(spec, h.data(), running.data(), dz.data());

  double largest = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    const double eps = 1e-6;
    std::vector<double> plus = z, minus = z;
    plus[i] += eps;
    minus[i] -= eps;
    const double numeric = (peer_loss(plus, r0, pairs, width, lambda, momentum) -
                            peer_loss(minus, r0, pairs, width, lambda, momentum)) /
                           (2 * eps);
    largest = std::max(largest, std::abs(numeric));
    // Float arithmetic in the op against double here (and the difference quotient's own error).
    EXPECT_NEAR(dz[i], numeric, 1e-7 + 1e-4 * std::abs(numeric)) << "element " << i;
    if (i >= static_cast<size_t>(pairs) * width) {
      EXPECT_EQ(dz[i], 0.0f) << "a negative's row";
    }
  }
  EXPECT_GT(largest, 1e-3);  // the case has gradients to compare
  for (int j = 0; j < width; ++j) {
    double sum = 0;
    for (int b = 0; b < pairs; ++b) sum += h[static_cast<size_t>(b) * width + j];
    EXPECT_NEAR(running[j], momentum * r0[j] + (1 - momentum) * sum / pairs, 1e-6) << "unit " << j;
  }
}

}  // namespace
}  // namespace ff
