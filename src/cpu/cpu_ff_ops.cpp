// CPU reference of the data and Forward-Forward ops: batch prep, the fused FF loss pass, slow
// scoring, argmax and softmax cross-entropy. The arithmetic is the shared host/device code of
// ff/batch_prep.hpp and ff/math.hpp; these functions only loop over it.
#include <cmath>
#include <limits>
#include <vector>

#include "cpu_backend.hpp"
#include "cpu_reduce.hpp"
#include "ff/batch_prep.hpp"
#include "ff/error.hpp"
#include "ff/math.hpp"

namespace ff {

namespace {

// The hybrid negative of the sample at dataset row `index` (unsupervised task).
void write_hybrid_row(const BatchSpec& spec, const uint8_t* image, uint32_t index, float* y) {
  float mask[kMaxHybridPlane], scratch[kMaxHybridPlane];
  hybrid_mask(spec.seed, spec.epoch, index, spec.height, spec.width, mask, scratch);
  const int plane = spec.height * spec.width;
  const uint32_t partner = hybrid_partner(spec.seed, spec.epoch, index, spec.dataset_count);
  const uint8_t* other = spec.images + static_cast<size_t>(partner) * spec.channels * plane;
  for (int channel = 0; channel < spec.channels; ++channel) {
    for (int p = 0; p < plane; ++p) {
      const int at = channel * plane + p;
      y[at] = static_cast<float>(mask[p] > 0.5f ? image[at] : other[at]) * (1.0f / 255.0f);
    }
  }
}

}  // namespace

void CpuBackend::prepare_batch(const BatchSpec& batch_spec, float* out, int32_t* task_labels) {
  const BatchSpec spec = at_cursor(batch_spec);
  if (spec.task == Task::kUnsupervised) {
    require(spec.height * spec.width <= kMaxHybridPlane && spec.dataset_count >= 2,
            "the unsupervised task needs images of at most 32x32 and at least 2 of them");
  }
  const int pixels = spec.channels * spec.height * spec.width;
  const int rows = batch_rows(spec);
  written(out, static_cast<size_t>(rows) * pixels * sizeof(float));
  if (task_labels) written(task_labels, static_cast<size_t>(spec.batch) * sizeof(int32_t));
  transform_maps_.prepare(spec.task, spec.height, spec.width);
  const TransformMaps& maps = transform_maps_;
#pragma omp parallel for schedule(static)
  for (int row = 0; row < rows; ++row) {
    const int sample = row % spec.batch;
    const uint32_t index = static_cast<uint32_t>(spec.indices[sample]);
    const SampleDraw draw = draw_for_batch(spec, sample, index);
    const int label = row_label(spec.mode, spec.batch, row, draw);
    const uint8_t* image = spec.images + static_cast<size_t>(index) * pixels;
    float* y = out + static_cast<size_t>(row) * pixels;
    if (spec.task == Task::kUnsupervised && spec.mode == LabelMode::kPositiveNegative &&
        row >= spec.batch) {
      write_hybrid_row(spec, image, index, y);
      continue;
    }
    // transformed_pixel of every position, with the transform's source pixels read from its map.
    const int plane = spec.height * spec.width;
    const bool identity = maps.is_identity(draw.transform);
    const int32_t* __restrict source = maps.map(draw.transform);
    for (int channel = 0; channel < spec.channels; ++channel) {
      const uint8_t* __restrict in = image + static_cast<size_t>(channel) * plane;
      float* __restrict value = y + static_cast<size_t>(channel) * plane;
      if (identity) {
        for (int p = 0; p < plane; ++p) value[p] = static_cast<float>(in[p]) * (1.0f / 255.0f);
      } else {
        for (int p = 0; p < plane; ++p) {
          value[p] = static_cast<float>(in[source[p]]) * (1.0f / 255.0f);
        }
      }
    }
    if (batch_is_labelled(spec)) {
      for (int j = 0; j < spec.num_labels; ++j)
        y[j] = label_value(spec.mode, spec.num_labels, label, j);
    }
    if (task_labels && row < spec.batch) task_labels[row] = output_label(spec, index, draw);
  }
}

void CpuBackend::peer_norm(const PeerNormSpec& spec, const float* h, float* running_mean,
                           float* dz) {
  const int width = spec.width, pairs = spec.pairs;
  written(running_mean, static_cast<size_t>(width) * sizeof(float));
  written(dz, static_cast<size_t>(2 * pairs) * width * sizeof(float));
  // Each unit's mean over the positives, rows in order (the CUDA kernel sums in the same order):
  // column_sum adds every column's rows 0..pairs-1, reading rows contiguously.
  std::vector<float> sums(static_cast<size_t>(width));
  column_sum(h, pairs, width, sums.data(), 0.0f);
  for (int j = 0; j < width; ++j) {
    running_mean[j] =
        peer_norm_running_mean(spec.momentum, running_mean[j], sums[j] / static_cast<float>(pairs));
  }
  float total = 0.0f;
  for (int j = 0; j < width; ++j) total += running_mean[j];
  const float mean_r = total / static_cast<float>(width);
#pragma omp parallel for schedule(static)
  for (int b = 0; b < pairs; ++b) {
    const float* x = h + static_cast<size_t>(b) * width;
    float* d = dz + static_cast<size_t>(b) * width;
    for (int j = 0; j < width; ++j) {
      // Through the ReLU: h = relu(z) is 0 exactly where its derivative is.
      if (x[j] > 0.0f) {
        d[j] +=
            peer_norm_gradient(spec.lambda, spec.momentum, width, pairs, running_mean[j], mean_r);
      }
    }
  }
}

void CpuBackend::hard_negative_labels(const BatchSpec& batch_spec, const float* logits, int classes,
                                      int32_t* out) {
  const BatchSpec spec = at_cursor(batch_spec);
  written(out, static_cast<size_t>(spec.batch) * sizeof(int32_t));
  for (int i = 0; i < spec.batch; ++i) out[i] = hard_negative_for(spec, logits, classes, i);
}

void CpuBackend::ff_loss_grad(const FfLossSpec& spec, const float* h, float* dz, float* h_norm,
                              int ld_norm, float* pair_loss) {
  const int width = spec.width;
  written(dz, static_cast<size_t>(2 * spec.pairs) * width * sizeof(float));
  if (h_norm) written(h_norm, static_cast<size_t>(2 * spec.pairs) * ld_norm * sizeof(float));
  written(pair_loss, static_cast<size_t>(spec.pairs) * sizeof(float));
  const float grad_factor = goodness_grad_factor(width, spec.goodness);
  const float inv_batch = 1.0f / static_cast<float>(spec.pairs);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < spec.pairs; ++i) {
    const int rows[2] = {i, spec.pairs + i};
    float sum_squares[2];
    for (int k = 0; k < 2; ++k) {
      sum_squares[k] = sum_of_squares(h + static_cast<size_t>(rows[k]) * width, width);
    }
    const PairLoss pl = ff_pair_loss(spec, goodness_from_sum(sum_squares[0], width, spec.goodness),
                                     goodness_from_sum(sum_squares[1], width, spec.goodness));
    pair_loss[i] = pl.loss;
    const float dloss_dg[2] = {pl.dloss_dpos, pl.dloss_dneg};
    for (int k = 0; k < 2; ++k) {
      const float* x = h + static_cast<size_t>(rows[k]) * width;
      float* d = dz + static_cast<size_t>(rows[k]) * width;
      // dL/dz = dL/dG * dG/dh * [h > 0]; h = relu(z) is 0 exactly where the mask is 0, so the
      // product with h already applies the mask.
      const float scale = dloss_dg[k] * grad_factor * inv_batch;
      for (int j = 0; j < width; ++j) d[j] = scale * x[j];
      if (h_norm) {
        const float norm_scale = rms_inverse_scale(sum_squares[k], width);
        float* y = h_norm + static_cast<size_t>(rows[k]) * ld_norm;
        for (int j = 0; j < width; ++j) y[j] = x[j] * norm_scale;
      }
    }
  }
}

void CpuBackend::goodness_score(const float* h, int rows, int width, float theta, GoodnessMode mode,
                                float* scores, bool accumulate) {
  written(scores, static_cast<size_t>(rows) * sizeof(float));
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float score =
        goodness_from_sum(sum_of_squares(h + static_cast<size_t>(r) * width, width), width, mode) -
        theta;
    scores[r] = accumulate ? scores[r] + score : score;
  }
}

void CpuBackend::argmax(const float* x, int items, int classes, int item_stride, int class_stride,
                        int32_t* out) {
  written(out, static_cast<size_t>(items) * sizeof(int32_t));
  for (int i = 0; i < items; ++i) {
    int best = 0;
    float best_value = -std::numeric_limits<float>::infinity();
    for (int c = 0; c < classes; ++c) {
      const float value =
          x[static_cast<size_t>(i) * item_stride + static_cast<size_t>(c) * class_stride];
      if (value > best_value) {
        best_value = value;
        best = c;
      }
    }
    out[i] = best;
  }
}

void CpuBackend::softmax_xent(const float* logits, const int32_t* labels, int rows, int classes,
                              float grad_scale, float* dlogits, float* row_loss) {
  written(dlogits, static_cast<size_t>(rows) * classes * sizeof(float));
  written(row_loss, static_cast<size_t>(rows) * sizeof(float));
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const float* z = logits + static_cast<size_t>(r) * classes;
    float max_logit = z[0];
    for (int c = 1; c < classes; ++c) max_logit = z[c] > max_logit ? z[c] : max_logit;
    float sum = 0.0f;
    for (int c = 0; c < classes; ++c) sum += std::exp(z[c] - max_logit);
    const float log_sum = std::log(sum);
    const int label = labels[r];
    row_loss[r] = log_sum - (z[label] - max_logit);
    if (dlogits) {
      float* d = dlogits + static_cast<size_t>(r) * classes;
      for (int c = 0; c < classes; ++c) {
        const float p = std::exp(z[c] - max_logit - log_sum);
        d[c] = (p - (c == label ? 1.0f : 0.0f)) * grad_scale;
      }
    }
  }
}

}  // namespace ff
