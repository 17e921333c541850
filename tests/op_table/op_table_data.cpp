// prepare_batch for every task (the unsupervised hybrid negatives included) x label mode x image
// shape: the same Philox draws, index maps and single multiply by 1/255 on both backends, so the
// rows and task labels must be bit-identical; with given negative labels (--negatives hard) and
// with class labels out (the classifier trained alongside). hard_negative_labels: the same Philox
// word and double-precision sampling on both, so the same labels.
#include <cstring>
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
  bool given_negatives = false;   // spec.negative_labels set
  bool class_labels_out = false;  // spec.output_class_labels
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
  if (c.given_negatives)
    spec.negative_labels = k.input(random_ints(c.batch, c.seed, 4, spec.num_labels));
  spec.output_class_labels = c.class_labels_out;
  const size_t out_size = static_cast<size_t>(batch_rows(spec)) * pixels;
  float* out = k.output("prepare_batch rows", poison(out_size), Tolerance::bitwise());
  int32_t* task_labels = k.output("prepare_batch task labels", std::vector<int32_t>(c.batch, -7));
  Backend& b = k.backend();
  k.run = [&b, spec, out, task_labels] { b.prepare_batch(spec, out, task_labels); };
  k.bytes = 4.0 * out_size + static_cast<double>(c.batch) * pixels;
}

std::string batch_label(const BatchShape& c) {
  std::string text = task_name(c.task) + "_" + mode_name(c.mode);
  if (!c.transform) text += "_untransformed";
  if (c.given_negatives) text += "_given_negatives";
  if (c.class_labels_out) text += "_class_labels_out";
  return text + "_" + std::to_string(c.channels) + "x" + std::to_string(c.size) + "x" +
         std::to_string(c.size) + "_batch" + std::to_string(c.batch) + "_seed" +
         std::to_string(c.seed);
}

// Logits of a batch of `batch` samples over 10 classes, read at a cursor in the middle of an
// epoch's order (as a captured step reads them).
void hard_negative_case(OpCall& k, int batch, uint64_t seed) {
  const uint32_t count = 300;
  const int classes = 10, step = 2;
  std::vector<uint8_t> labels(count);
  const std::vector<int32_t> classes_drawn = random_ints(count, seed, 2, classes);
  for (uint32_t i = 0; i < count; ++i) labels[i] = static_cast<uint8_t>(classes_drawn[i]);
  BatchSpec spec;
  spec.class_labels = k.input(labels);
  spec.dataset_count = count;
  spec.batch = batch;
  spec.task = Task::kSupervised;
  spec.num_labels = classes;
  spec.seed = seed;
  // The epoch's order covers (step + 1) batches; the cursor stands at `step`.
  spec.indices = k.input(random_ints(static_cast<size_t>(step + 1) * batch, seed, 3, count));
  StepCursor cursor;
  cursor.epoch = 5;
  cursor.step = step;
  std::vector<int32_t> cursor_words(sizeof(StepCursor) / sizeof(int32_t));
  std::memcpy(cursor_words.data(), &cursor, sizeof cursor);
  spec.cursor = reinterpret_cast<const StepCursor*>(k.input(cursor_words));
  // Logits spread over a few units, as a trained classifier's are.
  const float* logits =
      k.input(random_floats(static_cast<size_t>(batch) * classes, seed, 5, -4, 4));
  int32_t* out = k.output("hard negative labels", std::vector<int32_t>(batch, -7));
  Backend& b = k.backend();
  k.run = [&b, spec, logits, classes, out] { b.hard_negative_labels(spec, logits, classes, out); };
  k.flops = 4.0 * batch * classes;
  k.bytes = 4.0 * batch * (classes + 2);
}

}  // namespace

void add_data_cases(std::vector<OpCase>& cases, bool bench) {
  auto add = [&](const BatchShape& c) {
    cases.push_back(
        {"prepare_batch", batch_label(c), [=](OpCall& k) { prepare_batch_case(k, c); }});
  };
  auto add_hard = [&](int batch, uint64_t seed) {
    cases.push_back({"hard_negative_labels",
                     "batch" + std::to_string(batch) + "_classes10_seed" + std::to_string(seed),
                     [=](OpCall& k) { hard_negative_case(k, batch, seed); }});
  };
  if (bench) {
    // A training batch of MNIST (100 positives and their negatives) and of CIFAR-10 rotation.
    add({Task::kSupervised, LabelMode::kPositiveNegative, true, 1, 28, 100, 1});
    add({Task::kRotation, LabelMode::kPositiveNegative, true, 3, 32, 100, 1});
    add_hard(100, 1);
    return;
  }
  for (int batch : {1, 7, 100, 1000}) {
    for (uint64_t seed : {1u, 2u}) add_hard(batch, seed);
  }
  // Hard negatives fed to the batch, and class labels out of a pretext task's neutral batch.
  for (uint64_t seed : {1u, 2u}) {
    BatchShape given{Task::kSupervised, LabelMode::kPositiveNegative, true, 1, 28, 7, seed};
    given.given_negatives = true;
    add(given);
    BatchShape classes{Task::kRotation, LabelMode::kNeutral, false, 1, 28, 7, seed};
    classes.class_labels_out = true;
    add(classes);
    classes.task = Task::kJigsaw;
    classes.mode = LabelMode::kPositiveNegative;
    add(classes);
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
