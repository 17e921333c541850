// Arguments of the ops that take more than a few scalars. Shared by both backends.
#pragma once

#include <cstdint>

#include "ff/task.hpp"

namespace ff {

// Which label the batch-prep op writes into each row.
enum class LabelMode : uint8_t {
  kPositiveNegative,  // 2B rows: B positives (true task label), then B negatives (a wrong label)
  kNeutral,           // B rows, every label value 1/C
  kAllCandidates,     // C*B rows: row c*B + i carries label c (slow classification)
  kNone,              // B rows, no label written (bp-ce)
};

// Where a training run stands, kept in backend memory so that a captured training step (a CUDA
// Graph) replays unchanged: ops given a cursor read the epoch and the step at run time instead of
// taking them as launch arguments. Backend::advance_cursor moves it on, as the step's last op.
struct StepCursor {
  uint64_t epoch = 0;  // key of the epoch's random draws
  int32_t step = 0;    // batch within the epoch
  int32_t unused = 0;
};

// One batch: the dataset rows `indices[0..batch)` gathered, transformed, scaled to [0,1] and
// labelled. Random draws (transforms, wrong labels) are keyed by (seed, epoch, dataset index), so
// they do not depend on the batch size or the backend.
struct BatchSpec {
  const uint8_t* images = nullptr;        // backend memory, [count][channels][height][width]
  const uint8_t* class_labels = nullptr;  // backend memory, [count]
  uint32_t dataset_count = 0;
  int channels = 0, height = 0, width = 0;
  const int32_t* indices = nullptr;  // backend memory, [batch]
  int batch = 0;
  Task task = Task::kSupervised;
  int num_labels = 0;  // C: labels the task writes (task_num_labels)
  LabelMode mode = LabelMode::kPositiveNegative;
  uint64_t seed = 0;
  uint64_t epoch = 0;
  bool apply_transform = true;  // false: the untransformed image (probe features)
  // Backend memory or null. When set, the batch is the cursor's: epoch = cursor->epoch and the
  // rows are indices[cursor->step * batch ...] (indices then points at the whole epoch's order).
  const StepCursor* cursor = nullptr;
  // Backend memory [batch] or null: the label the negative of sample i carries (--negatives hard,
  // drawn by Backend::hard_negative_labels); null: a wrong label drawn uniformly.
  const int32_t* negative_labels = nullptr;
  // prepare_batch's task_labels output gets each sample's class label instead of its task label
  // (the linear classifier trained alongside reads out the class whatever the task).
  bool output_class_labels = false;
};

inline int batch_rows(const BatchSpec& spec) {
  switch (spec.mode) {
    case LabelMode::kPositiveNegative: return 2 * spec.batch;
    case LabelMode::kAllCandidates: return spec.num_labels * spec.batch;
    default: return spec.batch;
  }
}

enum class GoodnessMode : uint8_t { kSum, kMean };
enum class FfLossKind : uint8_t { kSoftplus, kSymba };

// The FF loss of one layer over a batch of `pairs` positives followed by `pairs` negatives.
struct FfLossSpec {
  int pairs = 0;  // B
  int width = 0;  // units of the layer
  float theta = 0.0f;
  GoodnessMode goodness = GoodnessMode::kSum;
  FfLossKind loss = FfLossKind::kSoftplus;
  float symba_alpha = 4.0f;
};

// Peer normalisation of one FF layer (Hinton 2022; --peer-norm): a running mean r_j of each
// unit's activity over the positive rows, r <- momentum r + (1 - momentum) mean_batch(h_j), and
// the added loss lambda * mean_j (r_j - mean_k r_k)^2, whose gradient flows through this batch's
// term of r (ff/math.hpp: peer_norm_gradient).
struct PeerNormSpec {
  int pairs = 0;  // B: rows 0..B-1 of h are the positives
  int width = 0;
  float lambda = 0.03f;
  float momentum = 0.9f;
};

// Adam's per-step constants with the bias corrections folded in (ff/math.hpp: adam_scalars).
struct AdamScalars {
  float beta1, beta2, eps, step_size, inv_sqrt_correction2;
};

struct AdamSpec {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  int64_t step = 1;  // 1-based, for the bias correction
  // Both backend memory, or both null. When set, this step's constants are
  // schedule[cursor->step], computed on the host by adam_scalars() for every step of the epoch
  // (so a captured step needs no new launch arguments), and lr/beta/eps/step above are unused.
  const AdamScalars* schedule = nullptr;
  const StepCursor* cursor = nullptr;
};

}  // namespace ff
