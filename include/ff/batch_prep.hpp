// The per-sample and per-value arithmetic of the batch-prep op, shared by the CPU reference and
// the CUDA kernel: gather, task transform, scale to [0,1], label embedding.
#pragma once

#include <cmath>
#include <cstddef>
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

// The batch a spec names at its cursor (see BatchSpec::cursor): the same spec with the cursor's
// epoch and rows, and no cursor. Both backends resolve a spec with this before using it.
FF_HD BatchSpec at_cursor(BatchSpec spec) {
  if (spec.cursor != nullptr) {
    spec.epoch = spec.cursor->epoch;
    spec.indices += static_cast<int64_t>(spec.cursor->step) * spec.batch;
    spec.cursor = nullptr;
  }
  return spec;
}

// The draw of sample `sample` of this batch, at dataset row `index` (both backends call this).
// The negative's label comes from spec.negative_labels where the batch has them (hard negatives).
FF_HD SampleDraw draw_for_batch(const BatchSpec& spec, int sample, uint32_t index) {
  SampleDraw draw = draw_sample(spec.task, spec.num_labels, spec.seed, spec.epoch, index,
                                spec.class_labels[index]);
  if (!spec.apply_transform) draw.transform = 0;
  if (spec.negative_labels != nullptr) draw.wrong_label = spec.negative_labels[sample];
  return draw;
}

// What prepare_batch writes to its task_labels output for a sample: the task's label, or the
// image's class where the spec asks for it.
FF_HD int32_t output_label(const BatchSpec& spec, uint32_t index, const SampleDraw& draw) {
  return spec.output_class_labels ? static_cast<int32_t>(spec.class_labels[index])
                                  : static_cast<int32_t>(draw.task_label);
}

// ---- hard negatives (--negatives hard) ----
// The negative label of an image drawn from a classifier's opinion of it: softmax over its logits
// with the true label's probability set to zero and the rest renormalised, sampled with one
// uniform word (Philox, RandomPurpose::kHardNegative). In double precision, so that the CPU and
// the GPU pick the same label from the same logits (a tie in the last bit of a double aside).
FF_HD int draw_hard_negative(const float* logits, int classes, int true_label, uint32_t word) {
  double top = -1e300;
  for (int c = 0; c < classes; ++c) {
    if (c != true_label && static_cast<double>(logits[c]) > top) top = logits[c];
  }
  double total = 0.0;
  for (int c = 0; c < classes; ++c) {
    if (c != true_label) total += exp(static_cast<double>(logits[c]) - top);
  }
  // u in [0, 1): 32 random bits.
  const double target = static_cast<double>(word) * (1.0 / 4294967296.0) * total;
  double running = 0.0;
  int last = -1;
  for (int c = 0; c < classes; ++c) {
    if (c == true_label) continue;
    running += exp(static_cast<double>(logits[c]) - top);
    last = c;
    if (target < running) return c;
  }
  return last;  // rounding left the target at the very top: the last wrong label
}

// The hard negative of sample `sample` of a batch whose classifier logits are `logits`
// ([batch x classes]); the true label is the image's class (hard negatives need the supervised
// task, whose labels are the classes).
FF_HD int32_t hard_negative_for(const BatchSpec& spec, const float* logits, int classes,
                                int sample) {
  const uint32_t index = static_cast<uint32_t>(spec.indices[sample]);
  const uint32_t word =
      random_words(spec.seed, spec.epoch, index, RandomPurpose::kHardNegative).v[0];
  return draw_hard_negative(logits + static_cast<size_t>(sample) * classes, classes,
                            spec.class_labels[index], word);
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

// Pixel (channel, row, col) of the transformed image, scaled to [0,1].
FF_HD float transformed_pixel(const BatchSpec& spec, const uint8_t* image, int transform,
                              int channel, int row, int col) {
  int src_row, src_col;
  transform_source(spec.task, transform, spec.height, spec.width, row, col, &src_row, &src_col);
  return static_cast<float>(image[(channel * spec.height + src_row) * spec.width + src_col]) *
         (1.0f / 255.0f);
}

// Whether the rows of this batch carry a label in their first num_labels values.
FF_HD bool batch_is_labelled(const BatchSpec& spec) {
  return spec.mode != LabelMode::kNone && spec.num_labels > 0;
}

// Output value at flat position `p` (channel-major) of a row built from `image` under `draw`:
// the label value in the first num_labels positions, the transformed pixel elsewhere.
FF_HD float batch_value(const BatchSpec& spec, const uint8_t* image, const SampleDraw& draw,
                        int label, int p) {
  if (batch_is_labelled(spec) && p < spec.num_labels) {
    return label_value(spec.mode, spec.num_labels, label, p);
  }
  const int plane = spec.height * spec.width;
  return transformed_pixel(spec, image, draw.transform, p / plane, (p % plane) / spec.width,
                           p % spec.width);
}

// ---- unsupervised task: hybrid negatives (Hinton 2022) ----
// The negative of sample i is m*x_i + (1-m)*x_j: j another image, m a random bit image blurred
// kHybridBlurPasses times with [1/4, 1/2, 1/4] along rows and columns, then thresholded at 0.5.
// Blur borders replicate the edge pixel (a choice the study leaves open; zero padding would bias
// the mask towards the partner image along the border). One mask per sample and epoch, shared by
// channels.
constexpr int kHybridBlurPasses = 6;
constexpr int kMaxHybridPlane = 32 * 32;  // scratch size of the mask (largest dataset plane)

// The partner image: uniform over the dataset's other images.
FF_HD uint32_t hybrid_partner(uint64_t seed, uint64_t epoch, uint32_t index, uint32_t count) {
  const uint32_t word = random_words(seed, epoch, index, RandomPurpose::kHybridPartner).v[0];
  const uint32_t r = uniform_below(word, count - 1);
  return r >= index ? r + 1 : r;
}

// Bit p of the sample's random bit image (128 bits per Philox block).
FF_HD float hybrid_random_bit(uint64_t seed, uint64_t epoch, uint32_t index, int p) {
  const Philox4 w =
      random_words(seed, epoch, index, RandomPurpose::kHybridMask, static_cast<uint32_t>(p / 128));
  return static_cast<float>((w.v[(p / 32) % 4] >> (p % 32)) & 1u);
}

// One [1/4, 1/2, 1/4] tap at (row, col) along rows (horizontal) or columns, edge replicated.
FF_HD float blur_tap(const float* in, int height, int width, int row, int col, bool horizontal) {
  if (horizontal) {
    const int left = col > 0 ? col - 1 : col, right = col + 1 < width ? col + 1 : col;
    return 0.25f * in[row * width + left] + 0.5f * in[row * width + col] +
           0.25f * in[row * width + right];
  }
  const int up = row > 0 ? row - 1 : row, down = row + 1 < height ? row + 1 : row;
  return 0.25f * in[up * width + col] + 0.5f * in[row * width + col] +
         0.25f * in[down * width + col];
}

// The thresholded mask of one sample into mask[height*width] (1 = take the sample's own pixel),
// using scratch[height*width]. Sequential: the CUDA kernel parallelises the same taps per pixel.
FF_HD void hybrid_mask(uint64_t seed, uint64_t epoch, uint32_t index, int height, int width,
                       float* mask, float* scratch) {
  const int plane = height * width;
  for (int p = 0; p < plane; ++p) mask[p] = hybrid_random_bit(seed, epoch, index, p);
  for (int pass = 0; pass < kHybridBlurPasses; ++pass) {
    for (int p = 0; p < plane; ++p)
      scratch[p] = blur_tap(mask, height, width, p / width, p % width, true);
    for (int p = 0; p < plane; ++p)
      mask[p] = blur_tap(scratch, height, width, p / width, p % width, false);
  }
  for (int p = 0; p < plane; ++p) mask[p] = mask[p] > 0.5f ? 1.0f : 0.0f;
}

}  // namespace ff

namespace ff {

// ---- layer-1 reuse across labels ----
// Rows that differ only in their embedded label share every other input value and the RMS-norm
// scale s (a one-hot label adds the same 1.0 to the sum of squares). Their layer-1 pre-activations
// then differ only by s * (W[:, label] - W[:, other label]): one GEMM serves them all.

struct RowLabel {
  int label;    // the label column carrying the (normalised) one-hot value, -1 if none
  float value;  // that value: s * 1.0
};

// The label of a normalised row, read from its first num_labels values.
FF_HD RowLabel row_label_of(const float* xn_row, int num_labels) {
  RowLabel found{-1, 0.0f};
  for (int c = 0; c < num_labels; ++c) {
    if (xn_row[c] > 0.0f) found = RowLabel{c, xn_row[c]};
  }
  return found;
}

// Pre-activation of unit u for a row whose label is `row` and whose reference row (same image)
// has pre-activation z_ref and label `ref`: z_ref + s_row W[u, row] - s_ref W[u, ref], with
// W[u, row] = w_row and W[u, ref] = w_ref already read (ignored where the label is -1).
FF_HD float label_swapped_preactivation(float z_ref, RowLabel row, float w_row, RowLabel ref,
                                        float w_ref) {
  float z = z_ref;
  if (row.label >= 0) z += row.value * w_row;
  if (ref.label >= 0) z -= ref.value * w_ref;
  return z;
}

// The same, reading the two weights from unit u's row of W.
FF_HD float label_swapped_preactivation(float z_ref, const float* weight_row, RowLabel row,
                                        RowLabel ref) {
  return label_swapped_preactivation(z_ref, row, row.label >= 0 ? weight_row[row.label] : 0.0f, ref,
                                     ref.label >= 0 ? weight_row[ref.label] : 0.0f);
}

}  // namespace ff
