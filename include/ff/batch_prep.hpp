// The per-sample and per-value arithmetic of the batch-prep op, shared by the CPU reference and
// the CUDA kernel: gather, task transform, scale to [0,1], label embedding.
#pragma once

#include <cstdint>

#include "ff/hd.hpp"
#include "ff/ops.hpp"
#include "ff/philox.hpp"
#include "ff/task.hpp"

namespace ff {

// Everything random about one sample of one epoch, drawn once.
struct SampleDraw {
  int transform;    // transform index (0 = identity)
  int task_label;   // the label the task asks for: transform index, or the class
  int wrong_label;  // a label != task_label, for the negative (-1 when the task has < 2 labels)
};

FF_HD SampleDraw draw_sample(Task task, int num_labels, uint64_t seed, uint64_t epoch,
                             uint32_t dataset_index, int class_label) {
  const Philox4 words = random_words(seed, epoch, dataset_index, RandomPurpose::kTransform);
  SampleDraw draw{0, class_label, -1};
  if (task_is_transform(task) && num_labels > 0) {
    draw.transform = static_cast<int>(uniform_below(words.v[0], static_cast<uint32_t>(num_labels)));
    draw.task_label = draw.transform;
  }
  if (num_labels > 1) draw.wrong_label = draw_wrong_label(words.v[1], draw.task_label, num_labels);
  return draw;
}

// The draw of the sample at dataset row `index` for this batch (both backends call this).
FF_HD SampleDraw draw_for_batch(const BatchSpec& spec, uint32_t index) {
  SampleDraw draw = draw_sample(spec.task, spec.num_labels, spec.seed, spec.epoch, index,
                                spec.class_labels[index]);
  if (!spec.apply_transform) draw.transform = 0;
  return draw;
}

// The label value written at input position `j` (< num_labels) of a row, or a negative number when
// the row carries no label. `row_label` is the label of the row (ignored for kNeutral).
FF_HD float label_value(LabelMode mode, int num_labels, int row_label, int j) {
  if (mode == LabelMode::kNeutral) return 1.0f / static_cast<float>(num_labels);
  return j == row_label ? 1.0f : 0.0f;
}

// The label a row of the batch carries, for row `row` of sample `sample`.
FF_HD int row_label(LabelMode mode, int batch, int row, const SampleDraw& draw) {
  switch (mode) {
    case LabelMode::kPositiveNegative: return row < batch ? draw.task_label : draw.wrong_label;
    case LabelMode::kAllCandidates: return row / batch;
    default: return -1;
  }
}

// Output value at flat position `p` (channel-major) of a row built from `image` under `draw`.
FF_HD float batch_value(const BatchSpec& spec, const uint8_t* image, const SampleDraw& draw,
                        int label, int p) {
  const bool labelled = spec.mode != LabelMode::kNone && spec.num_labels > 0;
  if (labelled && p < spec.num_labels) return label_value(spec.mode, spec.num_labels, label, p);
  const int plane = spec.height * spec.width;
  const int channel = p / plane;
  const int row = (p % plane) / spec.width, col = p % spec.width;
  int src_row, src_col;
  transform_source(spec.task, draw.transform, spec.height, spec.width, row, col, &src_row, &src_col);
  return static_cast<float>(image[channel * plane + src_row * spec.width + src_col]) *
         (1.0f / 255.0f);
}

}  // namespace ff
