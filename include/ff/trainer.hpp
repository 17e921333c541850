// The Forward-Forward orchestrator: owns the resident data, the network and its step buffers, and
// drives the op interface. It never does arithmetic on tensors itself (shared/DESIGN.md).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ff/backend.hpp"
#include "ff/config.hpp"
#include "ff/dataset.hpp"
#include "ff/network.hpp"

namespace ff {

struct PhaseTimes;

// One split of a dataset uploaded once to the backend.
struct ResidentSplit {
  Array<uint8_t> images, labels;
  Array<int32_t> labels_i32;  // the class labels as int32, for classifiers
  size_t count = 0;
  ResidentSplit(Backend& backend, const ImageSet& set);
};

struct SlowEvalResult {
  double accuracy = 0.0;               // scoring layers summed
  std::vector<double> per_layer;       // each hidden layer scored alone
};

// --algo: Forward-Forward, or one of the backprop baselines of SPEC.md.
enum class Algo { kFf, kBpCe, kBpGoodnessLast, kBpGoodnessAll };
Algo parse_algo(const std::string& name);  // throws ff::Error listing the valid names

// Trains an MLP by FF or by backprop (the baselines), and evaluates it.
class FfTrainer {
 public:
  FfTrainer(Backend& backend, const TrainConfig& config, const Dataset& dataset);

  // One epoch over the training set (the last partial batch is dropped); returns the mean loss of
  // every loss the algorithm has: one per layer for ff and bp-goodness-all, the last layer's for
  // bp-goodness-last, the cross-entropy for bp-ce.
  std::vector<double> train_epoch(int epoch);
  // The same in parts, for benchmarks: begin_epoch draws the order, train_step runs one step
  // (gradients and optimiser), end_epoch returns the mean losses over `steps` steps.
  // train_step(e, s) runs step s of epoch e of begin_epoch(e); steps normally follow each other
  // (the step cursor then advances on the device); another step moves the cursor first (one
  // small upload). Adam's bias correction follows begin_epoch's schedule: step s of the epoch is
  // optimiser step steps_taken_at_begin + s + 1, however often it is run (benchmarks repeat steps).
  void begin_epoch(int epoch);
  void train_step(int epoch, int step);
  std::vector<double> end_epoch(int steps);
  // With graphs (--graphs), the first step runs as issued (plans, scratch), the second is captured
  // and every later one replays the capture. True once a capture exists.
  bool step_is_captured() const { return step_graph_ != nullptr; }
  // Puts the device's step cursor at (epoch, step) unless it is there already (an upload, which
  // waits for queued work: benchmarks call it outside their timed loops).
  void seek(int epoch, int step);
  // With times attached, every phase synchronises and adds its wall time (ffcuda bench).
  void set_phase_times(PhaseTimes* times) { phase_times_ = times; }
  // The GEMMs of one training step, in order, with their operands (for "GEMMs alone" timing).
  struct StepGemm {
    GemmDesc desc;
    const float *a, *b;
    float* c;
    Epilogue epilogue;
    const float* bias;
  };
  std::vector<StepGemm> step_gemms();
  // The gradients of one step (no optimiser update) into network().grads() (and the head's):
  // for gradient checks. Returns the batch input rows on the host.
  std::vector<float> compute_step_gradients(int epoch, int step);
  int steps_per_epoch() const;

  // Slow (goodness) classification of the test set under the task's labels.
  SlowEvalResult evaluate_slow(const ResidentSplit& split, uint64_t seed);
  // bp-ce: accuracy of the classification head on the task's labels.
  double evaluate_head(const ResidentSplit& split, uint64_t seed);
  // Normalised activities of `layers` for every image of `split`, input carrying the neutral label
  // of the task (no label where the task or the algorithm has none), images untransformed:
  // [count x sum widths].
  Array<float> extract_features(const ResidentSplit& split, const std::vector<int>& layers);

  Mlp& network() { return network_; }
  Optimizer& optimizer() { return optimizer_; }
  ResidentSplit& train_split() { return train_; }
  ResidentSplit& test_split() { return test_; }
  const std::vector<int>& score_layers() const { return score_layers_; }
  int num_labels() const { return num_labels_; }
  bool is_ff() const { return algo_ == Algo::kFf; }
  bool has_head() const { return algo_ == Algo::kBpCe; }
  Mlp& head() { return *head_; }
  Optimizer& head_optimizer() { return *head_optimizer_; }

 private:
  BatchSpec base_spec(const ResidentSplit& split) const;
  BatchSpec train_spec() const;  // the batch at the device cursor
  bool input_labelled() const { return algo_ != Algo::kBpCe && num_labels_ > 0; }
  bool layer_has_loss(int layer) const;
  FfLossSpec layer_loss_spec(int pairs, int width) const;
  void ff_step(const BatchSpec& spec);
  void ff_forward(int layer, int batch);      // h_[layer] for the 2*batch rows (pass mode, reuse)
  void ff_weight_grad(int layer, int batch);  // on the weight-gradient lane when overlapping
  void enqueue_step();                        // gradients, optimiser, cursor advance
  void bp_step(BatchSpec spec);  // gradients only
  void forward_and_backward_bp(int batch, int rows, int layers);
  void optimizer_step();

  Backend& backend_;
  TrainConfig config_;
  Algo algo_;
  int channels_, height_, width_, num_labels_;
  ResidentSplit train_, test_;
  Mlp network_;
  Optimizer optimizer_;
  std::unique_ptr<Mlp> head_;  // bp-ce: the linear layer with one output per label
  std::unique_ptr<Optimizer> head_optimizer_;
  std::vector<int> score_layers_;
  // step buffers, allocated once
  Array<int32_t> epoch_order_;
  Array<float> input_;
  std::vector<Array<float>> xn_, h_, dz_;  // xn_[l] = normalised input of layer l (xn_[L]: head's)
  std::vector<Array<float>> dxn_;           // backprop: dL/dxn_[l] for l >= 1
  Array<int32_t> task_labels_;
  Array<float> logits_, dlogits_, row_loss_;
  Array<float> pair_loss_, loss_sums_;      // loss_sums_[l] per layer, [L] the cross-entropy
  PhaseTimes* phase_times_ = nullptr;
  int64_t global_step_ = 0;  // steps taken by this trainer (for --profile-steps)
  std::pair<int64_t, int64_t> profile_steps_{-1, -1};
  bool reuse_layer1_ = false;     // see ff/batch_prep.hpp, "layer-1 reuse across labels"
  bool streams_ = false;          // --pass-mode streams
  bool overlap_ = false;          // --overlap
  bool graphs_ = false;           // --graphs, resolved for this backend
  // Lanes (ff::Backend) of the FF step: the main one, the negatives' forward, the weight gradients.
  static constexpr int kMainLane = 0, kNegativeLane = 1, kWeightGradLane = 2;
  Array<StepCursor> cursor_;         // the device's (epoch, step); see seek()
  int64_t cursor_epoch_ = -1, cursor_step_ = -1;  // where the host knows the cursor stands
  Array<AdamScalars> adam_schedule_;  // Adam's constants for every step of the epoch
  std::unique_ptr<CapturedWork> step_graph_;
  int64_t uncaptured_steps_ = 0;   // steps run as issued (graphs: one before the capture)
  Array<float> layer1_scratch_;   // [B x out_0]: positives' pre-activations, then dz_pos + dz_neg
};

// Draws the epoch's permutation of [0, count) (Fisher-Yates over Philox, backend-independent).
std::vector<int32_t> shuffled_order(size_t count, uint64_t seed, uint64_t epoch);

}  // namespace ff
