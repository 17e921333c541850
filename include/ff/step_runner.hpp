// Runs training steps in order: the epoch's shuffle, the device-side step cursor, Adam's schedule,
// graph capture and replay, profiler ranges and phase timing. What a step computes is the
// TrainingStep's business; what it updates, the Model's.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "ff/backend.hpp"
#include "ff/config.hpp"
#include "ff/linear_tracker.hpp"
#include "ff/model.hpp"
#include "ff/resident_split.hpp"
#include "ff/training_step.hpp"

namespace ff {

class StepRunner {
 public:
  // `tracker` (may be null): the linear classifier trained alongside, run first in every step.
  StepRunner(Backend& backend, const TrainConfig& config, Model& model, TrainingStep& step,
             const ResidentSplit& train, const TaskShape& shape, LinearTracker* tracker = nullptr);

  // Called after each step is issued with (steps issued, steps of the epoch): progress lines.
  using StepProgress = std::function<void(int, int)>;
  // One epoch over the training set (the last partial batch is dropped); returns the mean of each
  // loss the algorithm has (TrainingStep::loss_slots) over the epoch's samples.
  std::vector<double> train_epoch(int epoch, const StepProgress& progress = {});
  // The same in parts, for benchmarks: begin_epoch draws the order, train_step runs one step
  // (gradients and optimiser), end_epoch returns the mean losses over `steps` steps.
  // train_step(e, s) runs step s of epoch e of begin_epoch(e); steps normally follow each other
  // (the step cursor then advances on the device); another step moves the cursor first (one
  // small upload). Adam's bias correction follows begin_epoch's schedule: step s of the epoch is
  // optimiser step steps_taken_at_begin + s + 1, however often it is run (benchmarks repeat steps).
  void begin_epoch(int epoch);
  void train_step(int epoch, int step);
  std::vector<double> end_epoch(int steps);
  // The tracked classifier's mean cross-entropy over the last epoch ended (0 without one).
  double tracked_loss() const { return tracked_loss_; }
  // Puts the device's step cursor at (epoch, step) unless it is there already (an upload, which
  // waits for queued work: benchmarks call it outside their timed loops).
  void seek(int epoch, int step);
  int steps_per_epoch() const;
  // With graphs (--graphs), the first step runs as issued (plans, scratch), the second is captured
  // and every later one replays the capture. True once a capture exists.
  bool step_is_captured() const { return step_graph_ != nullptr; }
  // With times attached, every phase synchronises and adds its wall time (ffcuda bench); such
  // steps run as issued, never replayed.
  void set_phase_times(PhaseTimes* times) { phase_times_ = times; }
  // The gradients of step `step` of epoch `epoch` (no optimiser update) into the model's gradient
  // buffers: for gradient checks. Returns the batch's input rows on the host.
  std::vector<float> compute_step_gradients(int epoch, int step);

 private:
  BatchSpec cursor_batch() const;  // the batch at the device cursor
  void enqueue_step();             // gradients, optimiser, cursor advance

  Backend& backend_;
  const int batch_;
  const uint64_t seed_;
  Model& model_;
  TrainingStep& step_;
  LinearTracker* tracker_;
  const bool hard_negatives_;  // --negatives hard: the tracker picks each negative's label
  const ResidentSplit& train_;
  const TaskShape shape_;
  const std::vector<int> loss_slots_;
  const bool graphs_;  // --graphs, resolved for this backend
  const std::pair<int64_t, int64_t> profile_steps_;
  Array<int32_t> epoch_order_;
  Array<float> loss_sums_;  // per layer, then the cross-entropy, then the tracker's
  double tracked_loss_ = 0.0;
  Array<StepCursor> cursor_;                      // the device's (epoch, step); see seek()
  int64_t cursor_epoch_ = -1, cursor_step_ = -1;  // where the host knows the cursor stands
  Array<AdamScalars> adam_schedule_;              // Adam's constants for every step of the epoch
  std::unique_ptr<CapturedWork> step_graph_;
  int64_t uncaptured_steps_ = 0;  // steps run as issued (graphs: one before the capture)
  int64_t global_step_ = 0;       // steps taken by this runner (for --profile-steps)
  PhaseTimes* phase_times_ = nullptr;
};

// Draws the epoch's permutation of [0, count) (Fisher-Yates over Philox, backend-independent).
std::vector<int32_t> shuffled_order(size_t count, uint64_t seed, uint64_t epoch);

}  // namespace ff
