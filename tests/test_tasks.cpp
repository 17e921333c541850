// Task transforms on tiny hand-made images through the batch-prep op, against hand-written
// expectations (not against the index maps themselves), for 1 and 3 channels.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "ff/backend.hpp"
#include "ff/batch_prep.hpp"
#include "ff/task.hpp"

namespace ff {
namespace {

using Grid = std::vector<int>;  // 4x4, row-major
const Grid kImage = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// Runs prepare_batch on a 4x4 image (channel ch holds kImage + 16*ch) under `transform` of `task`
// and returns the output scaled back to 0..255. Transforms are drawn per dataset index, so the
// dataset holds copies of the image and the test picks an index whose draw is `transform`.
std::vector<int> transformed(Task task, int transform, int channels, int labels,
                             LabelMode mode = LabelMode::kNone) {
  constexpr int kCopies = 200;
  const uint64_t seed = 11;
  int32_t wanted_index = -1;
  for (int32_t index = 0; index < kCopies && wanted_index < 0; ++index) {
    if (draw_sample(task, labels, seed, 0, index, 1).transform == transform) wanted_index = index;
  }
  EXPECT_GE(wanted_index, 0) << "no index drew transform " << transform;

  std::vector<uint8_t> images;
  for (int copy = 0; copy < kCopies; ++copy) {
    for (int ch = 0; ch < channels; ++ch) {
      for (int v : kImage) images.push_back(static_cast<uint8_t>(v + 16 * ch));
    }
  }
  auto backend = make_cpu_backend();
  Array<uint8_t> images_dev(*backend, images);
  Array<uint8_t> labels_dev(*backend, std::vector<uint8_t>(kCopies, 1));
  Array<int32_t> index_dev(*backend, std::vector<int32_t>{wanted_index});
  BatchSpec spec;
  spec.images = images_dev.data();
  spec.class_labels = labels_dev.data();
  spec.dataset_count = kCopies;
  spec.channels = channels;
  spec.height = spec.width = 4;
  spec.indices = index_dev.data();
  spec.batch = 1;
  spec.task = task;
  spec.num_labels = labels;
  spec.mode = mode;
  spec.seed = seed;
  std::vector<float> out(channels * 16 * (mode == LabelMode::kPositiveNegative ? 2 : 1));
  int32_t task_label = -1;
  backend->prepare_batch(spec, out.data(), &task_label);
  EXPECT_EQ(task_label, transform);
  std::vector<int> values;
  for (float v : out) values.push_back(static_cast<int>(std::lround(v * 255)));
  return values;
}

Grid first_channel(const std::vector<int>& values) {
  return Grid(values.begin(), values.begin() + 16);
}

TEST(Tasks, RotationsCounterClockwise) {
  EXPECT_EQ(first_channel(transformed(Task::kRotation, 0, 1, 4)), kImage);
  EXPECT_EQ(first_channel(transformed(Task::kRotation, 1, 1, 4)),
            (Grid{3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13, 0, 4, 8, 12}));
  EXPECT_EQ(first_channel(transformed(Task::kRotation, 2, 1, 4)),
            (Grid{15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}));
  EXPECT_EQ(first_channel(transformed(Task::kRotation, 3, 1, 4)),
            (Grid{12, 8, 4, 0, 13, 9, 5, 1, 14, 10, 6, 2, 15, 11, 7, 3}));
}

TEST(Tasks, FlipsMirror) {
  const Grid h = {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12};
  const Grid v = {12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3};
  const Grid hv = {15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0};
  EXPECT_EQ(first_channel(transformed(Task::kFlipH, 0, 1, 2)), kImage);
  EXPECT_EQ(first_channel(transformed(Task::kFlipH, 1, 1, 2)), h);
  EXPECT_EQ(first_channel(transformed(Task::kFlipHV, 1, 1, 4)), h);
  EXPECT_EQ(first_channel(transformed(Task::kFlipHV, 2, 1, 4)), v);
  EXPECT_EQ(first_channel(transformed(Task::kFlipHV, 3, 1, 4)), hv);
}

TEST(Tasks, JigsawPermutationsInLexicographicOrder) {
  int perm[4];
  jigsaw_permutation(0, perm);
  EXPECT_EQ(std::vector<int>(perm, perm + 4), (std::vector<int>{0, 1, 2, 3}));
  jigsaw_permutation(1, perm);
  EXPECT_EQ(std::vector<int>(perm, perm + 4), (std::vector<int>{0, 1, 3, 2}));
  jigsaw_permutation(6, perm);
  EXPECT_EQ(std::vector<int>(perm, perm + 4), (std::vector<int>{1, 0, 2, 3}));
  jigsaw_permutation(23, perm);
  EXPECT_EQ(std::vector<int>(perm, perm + 4), (std::vector<int>{3, 2, 1, 0}));
  std::vector<int> previous;
  for (int k = 0; k < 24; ++k) {
    jigsaw_permutation(k, perm);
    std::vector<int> current(perm, perm + 4);
    EXPECT_EQ(std::set<int>(current.begin(), current.end()).size(), 4u) << k;
    if (k) {
      EXPECT_LT(previous, current) << k;
    }
    previous = current;
  }
}

TEST(Tasks, AllJigsawArrangementsOfA4x4) {
  // Patches of kImage: 0 = {0,1,4,5}, 1 = {2,3,6,7}, 2 = {8,9,12,13}, 3 = {10,11,14,15}.
  const std::vector<Grid> patches = {{0, 1, 4, 5}, {2, 3, 6, 7}, {8, 9, 12, 13}, {10, 11, 14, 15}};
  std::set<Grid> arrangements;
  for (int k = 0; k < 24; ++k) {
    const Grid out = first_channel(transformed(Task::kJigsaw, k, 1, 24));
    int perm[4];
    jigsaw_permutation(k, perm);
    for (int position = 0; position < 4; ++position) {
      const int top = (position / 2) * 2, left = (position % 2) * 2;
      const Grid got = {out[top * 4 + left], out[top * 4 + left + 1], out[(top + 1) * 4 + left],
                        out[(top + 1) * 4 + left + 1]};
      EXPECT_EQ(got, patches[perm[position]]) << "permutation " << k << " position " << position;
    }
    arrangements.insert(out);
  }
  EXPECT_EQ(arrangements.size(), 24u);
  EXPECT_EQ(first_channel(transformed(Task::kJigsaw, 1, 1, 24)),
            (Grid{0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 8, 9, 14, 15, 12, 13}));
}

TEST(Tasks, ThreeChannelsTransformEveryPlaneAndLabelOnlyChannelZero) {
  const std::vector<int> out = transformed(Task::kRotation, 1, 3, 4, LabelMode::kPositiveNegative);
  const Grid rot90 = {3, 7, 11, 15, 2, 6, 10, 14, 1, 5, 9, 13, 0, 4, 8, 12};
  for (int row = 0; row < 2; ++row) {  // positive, then negative
    const int base = row * 48;
    int hot = -1;
    for (int j = 0; j < 4; ++j) {
      EXPECT_TRUE(out[base + j] == 0 || out[base + j] == 255) << j;
      if (out[base + j] == 255) hot = j;
    }
    if (row == 0) {
      EXPECT_EQ(hot, 1);  // the positive carries its own transform's label
    } else {
      EXPECT_NE(hot, 1);
    }
    for (int j = 4; j < 16; ++j) EXPECT_EQ(out[base + j], rot90[j]) << j;
    for (int ch = 1; ch < 3; ++ch) {
      for (int j = 0; j < 16; ++j) EXPECT_EQ(out[base + 16 * ch + j], rot90[j] + 16 * ch) << ch;
    }
  }
}

}  // namespace
}  // namespace ff

namespace ff {
namespace {

TEST(Tasks, UnsupervisedNegativesAreMaskedHybridsOfTwoImages) {
  // Two 28x28 images, 0 everywhere and 255 everywhere: a hybrid pixel shows which image it took.
  const int plane = 28 * 28;
  std::vector<uint8_t> images(2 * plane, 0);
  std::fill(images.begin() + plane, images.end(), 255);
  auto backend = make_cpu_backend();
  Array<uint8_t> images_dev(*backend, images), labels_dev(*backend, std::vector<uint8_t>{4, 7});
  Array<int32_t> indices(*backend, std::vector<int32_t>{0, 1});
  BatchSpec spec;
  spec.images = images_dev.data();
  spec.class_labels = labels_dev.data();
  spec.dataset_count = 2;
  spec.channels = 1;
  spec.height = spec.width = 28;
  spec.indices = indices.data();
  spec.batch = 2;
  spec.task = Task::kUnsupervised;
  spec.num_labels = 0;
  spec.seed = 5;
  std::vector<float> out(4 * plane);
  backend->prepare_batch(spec, out.data(), nullptr);
  for (int p = 0; p < plane; ++p) {
    ASSERT_EQ(out[p], 0.0f);          // positive 0: the real image, no label written
    ASSERT_EQ(out[plane + p], 1.0f);  // positive 1
  }
  for (int sample = 0; sample < 2; ++sample) {
    int own = 0, other = 0;
    const float own_value = sample == 0 ? 0.0f : 1.0f;
    for (int p = 0; p < plane; ++p) {
      const float v = out[(2 + sample) * plane + p];
      ASSERT_TRUE(v == 0.0f || v == 1.0f);
      (v == own_value ? own : other) += 1;
    }
    // The blurred-and-thresholded mask covers large blobs of both images.
    EXPECT_GT(own, plane / 5) << sample;
    EXPECT_GT(other, plane / 5) << sample;
  }
  // Blurred masks are smooth: far fewer changes between horizontal neighbours than random bits.
  int changes = 0;
  for (int r = 0; r < 28; ++r) {
    for (int c = 1; c < 28; ++c)
      changes += out[2 * plane + r * 28 + c] != out[2 * plane + r * 28 + c - 1];
  }
  EXPECT_LT(changes, 28 * 27 / 4);
}

}  // namespace
}  // namespace ff
