// The trained state of a run: the MLP and its optimiser, and for bp-ce the linear head (one output
// per label) with its own. Checkpoints read and write this and nothing else.
#pragma once

#include <memory>
#include <vector>

#include "ff/config.hpp"
#include "ff/network.hpp"

namespace ff {

class Model {
 public:
  // dims = {input, hidden_1, ..., hidden_L}; a head is made for bp-ce (num_labels outputs).
  Model(Backend& backend, const TrainConfig& config, const std::vector<int>& dims, int num_labels);

  Mlp& network() { return network_; }
  const Mlp& network() const { return network_; }
  Optimizer& optimizer() { return optimizer_; }
  bool has_head() const { return head_ != nullptr; }
  Mlp& head() { return *head_; }
  Optimizer& head_optimizer() { return *head_optimizer_; }
  // Enqueues one update of every parameter from its gradient, Adam's constants read from
  // `schedule` at `cursor` (backend memory; null schedule for SGD); counted by count_step().
  void enqueue_update(const AdamScalars* schedule, const StepCursor* cursor);
  void count_step();

 private:
  Mlp network_;
  Optimizer optimizer_;
  std::unique_ptr<Mlp> head_;
  std::unique_ptr<Optimizer> head_optimizer_;
};

}  // namespace ff
