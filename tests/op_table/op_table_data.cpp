// prepare_batch for every task (the unsupervised hybrid negatives included) x label mode x image
// shape: the same Philox draws, index maps and single multiply by 1/255 on both backends, so the
// rows and task labels must be bit-identical.
#include <string>

#include "ff/task.hpp"
#include "op_inputs.hpp"
#include "op_table.hpp"

namespace ff::optable {

namespace {

const char* mode_name(LabelMode mode) {
  switch (mode) {
    case LabelMode::kPositiveNegative: return "posneg";
    case LabelMode::kNeutral: return "neutral";
    case LabelMode::kAllCandidates: return "candidates";
    case LabelMode::kNone: return "nolabel";
  }
  return "mode";
}

struct BatchShape {
  Task task;
  LabelMode mode;
  bool transform;
  int channels, size, batch;
  uint64_t seed;
};

void prepare_batch_case(OpCall& k, const BatchShape& c) {
  const uint32_t count = 40;
  const size_t pixels = static_cast<size_t>(c.channels) * c.size * c.size;
  std::vector<uint8_t> images(count * pixels), labels(count);
  const std::vector<int32_t> pixel_values = random_ints(images.size(), c.seed, 1, 256);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<uint8_t>(pixel_values[i]);
  const std::vector<int32_t> classes = random_ints(count, c.seed, 2, 10);
  for (uint32_t i = 0; i < count; ++i) labels[i] = static_cast<uint8_t>(classes[i]);
  BatchSpec spec;
  spec.images = k.input(images);
  spec.class_labels = k.input(labels);
  spec.indices = k.input(random_ints(c.batch, c.seed, 3, count));
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
  float* out = k.output("prepare_batch rows", poison(out_size), Tolerance::bitwise());
  int32_t* task_labels = k.output("prepare_batch task labels", std::vector<int32_t>(c.batch, -7));
  Backend& b = k.backend();
  k.run = [&b, spec, out, task_labels] { b.prepare_batch(spec, out, task_labels); };
  k.bytes = 4.0 * out_size + static_cast<double>(c.batch) * pixels;
}

std::string batch_label(const BatchShape& c) {
  return task_name(c.task) + "_" + mode_name(c.mode) + (c.transform ? "" : "_untransformed") +
         "_" + std::to_string(c.channels) + "x" + std::to_string(c.size) + "x" +
         std::to_string(c.size) + "_batch" + std::to_string(c.batch) + "_seed" +
         std::to_string(c.seed);
}

}  // namespace

void add_data_cases(std::vector<OpCase>& cases, bool bench) {
  auto add = [&](const BatchShape& c) {
    cases.push_back({"prepare_batch", batch_label(c), [=](OpCall& k) { prepare_batch_case(k, c); }});
  };
  if (bench) {
    // A training batch of MNIST (100 positives and their negatives) and of CIFAR-10 rotation.
    add({Task::kSupervised, LabelMode::kPositiveNegative, true, 1, 28, 100, 1});
    add({Task::kRotation, LabelMode::kPositiveNegative, true, 3, 32, 100, 1});
    return;
  }
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
        for (uint64_t seed : {1u, 2u}) add({task, mode, true, s[0], s[1], s[2], seed});
      }
    }
    add({task, LabelMode::kPositiveNegative, false, 1, 28, 7, 1});
  }
}

}  // namespace ff::optable
