// A fully connected network's parameters in one contiguous backend buffer (so that one optimiser
// launch updates them all), with gradients and optimiser state laid out the same way.
#pragma once

#include <cstdint>
#include <vector>

#include "ff/backend.hpp"
#include "ff/config.hpp"

namespace ff {

class Mlp {
 public:
  // dims = {input, hidden_1, ..., hidden_L}. Weights N(0, 2/fan_in) (He), biases 0, drawn from
  // Philox keyed by (seed, layer), so a network is the same on every backend.
  Mlp(Backend& backend, std::vector<int> dims, uint64_t seed);

  int num_layers() const { return static_cast<int>(dims_.size()) - 1; }
  int in_width(int layer) const { return dims_[layer]; }
  int out_width(int layer) const { return dims_[layer + 1]; }
  const std::vector<int>& dims() const { return dims_; }
  size_t parameter_count() const { return params_.size(); }

  // W_l is [out x in] row-major, then b_l [out].
  float* weight(int layer) { return params_.data() + offsets_[layer]; }
  float* bias(int layer) { return weight(layer) + weight_count(layer); }
  float* weight_grad(int layer) { return grads_.data() + offsets_[layer]; }
  float* bias_grad(int layer) { return weight_grad(layer) + weight_count(layer); }
  const float* weight(int layer) const { return params_.data() + offsets_[layer]; }
  const float* bias(int layer) const { return weight(layer) + weight_count(layer); }

  // Where layers [first, first + count) lie in params() and grads(): one contiguous range.
  size_t layers_offset(int first) const { return offsets_[first]; }
  size_t layers_size(int first, int count) const {
    const int end = first + count;
    return (end < num_layers() ? offsets_[end] : params_.size()) - offsets_[first];
  }

  Array<float>& params() { return params_; }
  Array<float>& grads() { return grads_; }
  const Array<float>& params() const { return params_; }

 private:
  size_t weight_count(int layer) const {
    return static_cast<size_t>(dims_[layer]) * dims_[layer + 1];
  }
  std::vector<int> dims_;
  std::vector<size_t> offsets_;
  Array<float> params_, grads_;
};

// He-initialised parameters of `dims` on the host (exposed for tests and checkpoints).
std::vector<float> init_parameters(const std::vector<int>& dims, uint64_t seed);

// Adam or SGD with momentum over a whole parameter buffer.
class Optimizer {
 public:
  Optimizer(Backend& backend, size_t count, OptimizerKind kind, float lr, float momentum);
  void step(Array<float>& params, const Array<float>& grads);
  // Enqueues a step whose Adam constants come from `schedule` at `cursor` (backend memory; see
  // AdamSpec), without counting it: the caller counts each executed step with count_step() (a
  // captured step is enqueued once and executed many times). SGD ignores schedule and cursor.
  void enqueue_scheduled_step(Array<float>& params, const Array<float>& grads,
                              const AdamScalars* schedule, const StepCursor* cursor);
  // The same for elements [first, first + count) only: the update is elementwise, so updating a
  // buffer in ranges gives bitwise what one launch over it gives.
  void enqueue_scheduled_range(Array<float>& params, const Array<float>& grads,
                               const AdamScalars* schedule, const StepCursor* cursor, size_t first,
                               size_t count);
  void count_step() { ++step_; }
  bool is_adam() const { return kind_ == OptimizerKind::kAdam; }
  // Adam's constants for the next `count` steps (steps_taken() + 1 ...), for a schedule.
  std::vector<AdamScalars> schedule(int count) const;
  int64_t steps_taken() const { return step_; }
  Array<float>& first_moment() { return m_; }
  Array<float>& second_moment() { return v_; }
  void set_steps_taken(int64_t steps) { step_ = steps; }

 private:
  // The update itself: Adam with `adam`'s constants, or SGD with momentum (which needs none).
  void enqueue(const AdamSpec& adam, Array<float>& params, const Array<float>& grads, size_t first,
               size_t count);

  Backend* backend_;
  OptimizerKind kind_;
  float lr_, momentum_;
  int64_t step_ = 0;
  Array<float> m_, v_;  // Adam moments; SGD keeps its velocity in m_
};

}  // namespace ff
