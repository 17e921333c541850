// The gradients of one training step, one implementation per algorithm (src/train/*_step.cpp):
// Forward-Forward, and the backprop baselines (docs/what-it-computes.md). Each owns its activation
// buffers and its lane plan; the StepRunner around it owns the schedule (cursor, optimiser, graph
// capture).
#pragma once

#include <memory>
#include <vector>

#include "ff/backend.hpp"
#include "ff/config.hpp"
#include "ff/model.hpp"

namespace ff {

struct PhaseTimes;

// The optimiser's update of hidden layers whose gradients are final before the step ends. FF's
// layer l is done once its weight gradient is (nothing flows back into it), and updating it then,
// on the lane that computed the gradient, reads that gradient while it is still in cache (CPU) and
// overlaps the update with the next layer's forward (CUDA); the update is elementwise, so the
// result is bitwise the same as one update after the step. The StepRunner updates whatever was
// not updated early (everything, for backprop) after enqueue_gradients returns.
class EarlyUpdates {
 public:
  virtual ~EarlyUpdates() = default;
  // Enqueues the update of `layer` (once per step; the caller times it as "optimizer").
  virtual void layer_done(int layer) = 0;
};

class TrainingStep {
 public:
  virtual ~TrainingStep() = default;
  // Enqueues the gradients of the batch `spec` (the batch at the device cursor) into the model's
  // gradient buffers, and adds each loss of the step to its slot of `loss_sums` ([layers + 1]:
  // one per hidden layer, then the cross-entropy). With `times`, each phase is timed. With
  // `updates`, a layer whose gradient is final may be updated at once (EarlyUpdates); without,
  // only gradients are computed.
  virtual void enqueue_gradients(const BatchSpec& spec, float* loss_sums, PhaseTimes* times,
                                 EarlyUpdates* updates) = 0;
  // The slots of loss_sums the algorithm has, in order: one per layer for ff and
  // bp-goodness-all, the last layer's for bp-goodness-last, the cross-entropy for bp-ce.
  virtual std::vector<int> loss_slots() const = 0;
  // The normalised rows fed to layer 1 by the last step, on the host (gradient checks).
  virtual std::vector<float> download_input() const = 0;
};

// The step of `config.algo` for `model`, with buffers for batches of config.batch positives.
std::unique_ptr<TrainingStep> make_training_step(Backend& backend, const TrainConfig& config,
                                                 Model& model, int num_labels);

// Whether hidden layer `layer` of `num_layers` has an FF (goodness) loss of its own under `algo`.
bool layer_has_loss(Algo algo, int layer, int num_layers);

// The FF loss of a layer of `width` units over `pairs` positive/negative pairs under `config`.
FfLossSpec layer_loss_spec(const TrainConfig& config, int pairs, int width);

// The activations of a step through an Mlp, for `rows` rows: the batch input, and per layer its
// normalised input, its output and dL/dz of its output.
struct LayerBuffers {
  LayerBuffers(Backend& backend, const Mlp& network, int rows, int batch);
  Array<float> input;
  std::vector<Array<float>> xn, h, dz;
  Array<float> pair_loss;      // [batch]: the FF loss terms of each positive/negative pair
  Array<int32_t> task_labels;  // [batch]
};

}  // namespace ff
