// The linear classifier trained alongside pretraining (--track-linear): on every training batch,
// the images with the task's neutral label (untransformed, as the probe sees them) run through the
// network as it stands before the step's update; the scoring layers' normalised activities feed a
// linear softmax classifier on the class labels, updated by its own Adam. No gradient reaches the
// network. With --negatives hard, its logits on the batch also choose each image's negative label.
// Its parameters and Adam state are the Model's (checkpointed); this class holds the buffers and
// the schedule, and enqueues the work inside the training step (so a captured step replays it).
#pragma once

#include <vector>

#include "ff/backend.hpp"
#include "ff/config.hpp"
#include "ff/model.hpp"
#include "ff/resident_split.hpp"

namespace ff {

struct PhaseTimes;

class LinearTracker {
 public:
  LinearTracker(Backend& backend, const TrainConfig& config, Model& model, const TaskShape& shape,
                int num_classes, int steps_per_epoch);

  // Adam's constants for the epoch's `steps` steps (the tracker's own learning rate).
  void begin_epoch(int steps);
  // Enqueues the classifier's forward, cross-entropy (added to *loss_sum) and update for the batch
  // `spec` names at its cursor (the training batch, the Adam schedule at the same cursor).
  void enqueue_step(const BatchSpec& spec, const StepCursor* cursor, float* loss_sum,
                    PhaseTimes* times);
  // --negatives hard: enqueues the negatives' labels for the batch, drawn from the logits of the
  // last enqueue_step; returns them (backend memory, [batch]) for the batch's spec.
  const int32_t* enqueue_hard_negatives(const BatchSpec& spec);

 private:
  Backend& backend_;
  Model& model_;
  const TaskShape shape_;
  const int batch_, classes_, features_;
  const bool labelled_input_;      // the network's input carries the task's (neutral) label
  const std::vector<int> layers_;  // the scoring layers, whose activities are the features
  Array<float> input_, xn_, h_, features_buffer_, logits_, dlogits_, row_loss_;
  Array<int32_t> class_labels_, negatives_;
  Array<AdamScalars> schedule_;
};

}  // namespace ff
