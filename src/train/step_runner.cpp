// The training schedule around a TrainingStep. No host<->device copy inside a step: the epoch's
// order, Adam's constants and the step cursor live on the device, so a captured step replays
// unchanged.
#include "ff/step_runner.hpp"

#include <utility>

#include "ff/error.hpp"
#include "ff/fault.hpp"
#include "ff/philox.hpp"
#include "phase.hpp"

namespace ff {

std::vector<int32_t> shuffled_order(size_t count, uint64_t seed, uint64_t epoch) {
  std::vector<int32_t> order(count);
  for (size_t i = 0; i < count; ++i) order[i] = static_cast<int32_t>(i);
  for (size_t i = count; i > 1; --i) {
    const uint32_t word =
        random_words(seed, epoch, static_cast<uint32_t>(i), RandomPurpose::kShuffle).v[0];
    std::swap(order[i - 1], order[uniform_below(word, static_cast<uint32_t>(i))]);
  }
  return order;
}

namespace {

// One step's optimiser updates: the layers the TrainingStep finishes early, then the rest (in
// contiguous runs, one launch each) and the head.
class LayerUpdates final : public EarlyUpdates {
 public:
  LayerUpdates(Model& model, const AdamScalars* schedule, const StepCursor* cursor)
      : model_(model),
        schedule_(schedule),
        cursor_(cursor),
        done_(static_cast<size_t>(model.network().num_layers()), false) {}

  void layer_done(int layer) override {
    check_invariant(!done_[static_cast<size_t>(layer)], "a layer updated twice in one step");
    done_[static_cast<size_t>(layer)] = true;
    model_.enqueue_layers_update(layer, 1, schedule_, cursor_);
  }

  void enqueue_rest() {
    const int layers = static_cast<int>(done_.size());
    for (int first = 0; first < layers;) {
      if (done_[static_cast<size_t>(first)]) {
        ++first;
        continue;
      }
      int end = first;
      while (end < layers && !done_[static_cast<size_t>(end)]) ++end;
      model_.enqueue_layers_update(first, end - first, schedule_, cursor_);
      first = end;
    }
    model_.enqueue_head_update(schedule_, cursor_);
  }

 private:
  Model& model_;
  const AdamScalars* schedule_;
  const StepCursor* cursor_;
  std::vector<bool> done_;
};

}  // namespace

StepRunner::StepRunner(Backend& backend, const TrainConfig& config, Model& model,
                       TrainingStep& step, const ResidentSplit& train, const TaskShape& shape,
                       LinearTracker* tracker)
    : backend_(backend),
      batch_(config.batch),
      seed_(config.seed),
      model_(model),
      step_(step),
      tracker_(tracker),
      hard_negatives_(config.negatives == NegativesMode::kHard),
      train_(train),
      shape_(shape),
      loss_slots_(step.loss_slots()),
      graphs_(resolve_graphs(config.graphs, backend.kind() == DeviceKind::kCuda)),
      profile_steps_(parse_profile_steps(config.profile_steps)),
      epoch_order_(backend, train.count),
      loss_sums_(backend, static_cast<size_t>(model.network().num_layers()) + 2),
      cursor_(backend, 1) {
  require(train.count >= static_cast<size_t>(batch_),
          "the training set has " + std::to_string(train.count) +
              " images, fewer than one batch of " + std::to_string(batch_) +
              "; lower --batch or raise --train-limit");
  if (model.optimizer().is_adam()) {
    adam_schedule_ = Array<AdamScalars>(backend, static_cast<size_t>(steps_per_epoch()));
  }
  check_invariant(!hard_negatives_ || tracker_ != nullptr,
                  "hard negatives without the classifier trained alongside");
}

int StepRunner::steps_per_epoch() const { return static_cast<int>(train_.count / batch_); }

BatchSpec StepRunner::cursor_batch() const {
  BatchSpec spec = base_batch_spec(train_, shape_);
  spec.batch = batch_;
  spec.mode = LabelMode::kPositiveNegative;
  spec.seed = seed_;
  // The epoch and the rows come from the device cursor, so a captured step replays unchanged.
  spec.indices = epoch_order_.data();
  spec.cursor = cursor_.data();
  return spec;
}

void StepRunner::seek(int epoch, int step) {
  if (epoch == cursor_epoch_ && step == cursor_step_) return;
  StepCursor cursor;
  cursor.epoch = static_cast<uint64_t>(epoch);
  cursor.step = step;
  cursor_.upload({cursor});
  cursor_epoch_ = epoch;
  cursor_step_ = step;
}

void StepRunner::begin_epoch(int epoch) {
  epoch_order_.upload(shuffled_order(train_.count, seed_, static_cast<uint64_t>(epoch)));
  if (model_.optimizer().is_adam()) {
    // One schedule serves the head too: same settings, and both count every step.
    check_invariant(!model_.has_head() ||
                        model_.head_optimizer().steps_taken() == model_.optimizer().steps_taken(),
                    "the head's optimiser is not at the network's step");
    adam_schedule_.upload(model_.optimizer().schedule(steps_per_epoch()));
  }
  if (tracker_) tracker_->begin_epoch(steps_per_epoch());
  backend_.fill(loss_sums_.data(), loss_sums_.size(), 0.0f);
  seek(epoch, 0);
}

void StepRunner::enqueue_step() {
  BatchSpec spec = cursor_batch();
  if (tracker_) {
    // First, on the network as it stands before this step's update.
    const int slot = model_.network().num_layers() + 1;
    tracker_->enqueue_step(spec, cursor_.data(), loss_sums_.data() + slot, phase_times_);
    if (hard_negatives_) spec.negative_labels = tracker_->enqueue_hard_negatives(spec);
  }
  // Adam's constants from the epoch's schedule at the device cursor (null for SGD: none).
  LayerUpdates updates(model_, adam_schedule_.size() ? adam_schedule_.data() : nullptr,
                       cursor_.data());
  step_.enqueue_gradients(spec, loss_sums_.data(), phase_times_, &updates);
  {
    Phase phase("optimizer", backend_, phase_times_);
    updates.enqueue_rest();
  }
  backend_.advance_cursor(cursor_.data());
}

void StepRunner::train_step(int epoch, int step) {
  seek(epoch, step);
  if (global_step_ == profile_steps_.first) backend_.profiler_start();
  {
    NvtxRange range("step");
    // The first step runs as issued (GEMM plans, scratch buffers: nothing may be created inside a
    // capture), and so does every step whose phases are timed (they synchronise).
    if (!graphs_ || phase_times_ != nullptr || uncaptured_steps_ == 0) {
      enqueue_step();
      ++uncaptured_steps_;
    } else {
      if (!step_graph_) {
        step_graph_ = backend_.capture([this] { enqueue_step(); });
        check_invariant(step_graph_ != nullptr,
                        "--graphs on with a backend that cannot capture (" + backend_.name() + ")");
      }
      step_graph_->replay();
    }
  }
  model_.count_step();
  ++cursor_step_;
  if (++global_step_ == profile_steps_.second) backend_.profiler_stop();
}

std::vector<double> StepRunner::end_epoch(int steps) {
  const std::vector<float> sums = loss_sums_.download();
  const double samples = static_cast<double>(steps) * batch_;
  std::vector<double> mean_loss;
  for (int slot : loss_slots_) mean_loss.push_back(static_cast<double>(sums[slot]) / samples);
  tracked_loss_ = static_cast<double>(sums[model_.network().num_layers() + 1]) / samples;
  return mean_loss;
}

std::vector<double> StepRunner::train_epoch(int epoch, const StepProgress& progress) {
  NvtxRange range("epoch");
  begin_epoch(epoch);
  const int steps = steps_per_epoch();
  for (int step = 0; step < steps; ++step) {
    train_step(epoch, step);
    fault_point("step");
    if (progress) progress(step + 1, steps);
  }
  return end_epoch(steps);
}

// Test-only: the step's own gradients, without the classifier trained alongside (so with uniform
// negatives even under --negatives hard); --peer-norm still moves the running means.
std::vector<float> StepRunner::compute_step_gradients(int epoch, int step) {
  epoch_order_.upload(shuffled_order(train_.count, seed_, static_cast<uint64_t>(epoch)));
  seek(epoch, step);
  step_.enqueue_gradients(cursor_batch(), loss_sums_.data(), nullptr, nullptr);
  return step_.download_input();
}

}  // namespace ff
