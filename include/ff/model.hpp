// The trained state of a run: the MLP and its optimiser; for bp-ce the linear head (one output per
// label) with its own; with --track-linear the linear classifier trained alongside (one output per
// class) with its own Adam; with --peer-norm each layer's running mean activities. Checkpoints
// read and write this and nothing else.
#pragma once

#include <memory>
#include <vector>

#include "ff/config.hpp"
#include "ff/network.hpp"

namespace ff {

class Model {
 public:
  // dims = {input, hidden_1, ..., hidden_L}; a head is made for bp-ce (num_labels outputs), a
  // tracked classifier with --track-linear (num_classes outputs over the scoring layers).
  Model(Backend& backend, const TrainConfig& config, const std::vector<int>& dims, int num_labels,
        int num_classes);

  Mlp& network() { return network_; }
  const Mlp& network() const { return network_; }
  Optimizer& optimizer() { return optimizer_; }
  bool has_head() const { return head_ != nullptr; }
  Mlp& head() { return *head_; }
  Optimizer& head_optimizer() { return *head_optimizer_; }
  bool has_tracker() const { return tracker_ != nullptr; }
  // One layer [classes x features]: features are the scoring layers' normalised activities.
  Mlp& tracker() { return *tracker_; }
  const Mlp& tracker() const { return *tracker_; }
  Optimizer& tracker_optimizer() { return *tracker_optimizer_; }
  // --peer-norm: layer l's running mean activities [out_width(l)]; null without peer norm.
  float* peer_means(int layer) {
    return peer_means_.size() ? peer_means_.data() + peer_offsets_[layer] : nullptr;
  }
  Array<float>& all_peer_means() { return peer_means_; }
  // Enqueue one update of hidden layers [first, first + count) from their gradients, and of the
  // head (nothing without one), Adam's constants read from `schedule` at `cursor` (backend memory;
  // null schedule for SGD). A step updates every layer once and the head once, in any grouping;
  // count_step() counts it.
  void enqueue_layers_update(int first, int count, const AdamScalars* schedule,
                             const StepCursor* cursor);
  void enqueue_head_update(const AdamScalars* schedule, const StepCursor* cursor);
  void count_step();

 private:
  Mlp network_;
  Optimizer optimizer_;
  std::unique_ptr<Mlp> head_;
  std::unique_ptr<Optimizer> head_optimizer_;
  std::unique_ptr<Mlp> tracker_;
  std::unique_ptr<Optimizer> tracker_optimizer_;
  Array<float> peer_means_;  // every layer's, one after the other
  std::vector<size_t> peer_offsets_;
};

}  // namespace ff
