// The data a trainer works on, resident on the backend: a split's images and labels uploaded
// once, and the shape of the task's batches (image shape, labels the task embeds).
#pragma once

#include <cstdint>

#include "ff/backend.hpp"
#include "ff/dataset.hpp"
#include "ff/ops.hpp"

namespace ff {

// One split of a dataset uploaded once to the backend.
struct ResidentSplit {
  Array<uint8_t> images, labels;
  Array<int32_t> labels_i32;  // the class labels as int32, for classifiers
  size_t count = 0;
  ResidentSplit(Backend& backend, const ImageSet& set);
};

// What every batch of a run shares: the image shape and the task with its number of labels.
struct TaskShape {
  int channels = 0, height = 0, width = 0;
  Task task = Task::kSupervised;
  int num_labels = 0;  // labels the task writes into the input (0: unsupervised)
};

// A batch of `split` under `shape`, without rows, mode or seed (the caller sets those).
BatchSpec base_batch_spec(const ResidentSplit& split, const TaskShape& shape);

}  // namespace ff
