// The choice of training step by algorithm, and what the steps share.
#include "ff/training_step.hpp"

#include "steps.hpp"

namespace ff {

std::unique_ptr<TrainingStep> make_training_step(Backend& backend, const TrainConfig& config,
                                                 Model& model, int num_labels) {
  switch (config.algo) {
    case Algo::kFf: return make_ff_step(backend, config, model, num_labels);
    case Algo::kBpCe:
    case Algo::kBpGoodnessLast:
    case Algo::kBpGoodnessAll: return make_bp_step(backend, config, model, num_labels);
  }
  throw InternalError("make_training_step: no step for this algorithm");
}

bool layer_has_loss(Algo algo, int layer, int num_layers) {
  switch (algo) {
    case Algo::kFf:
    case Algo::kBpGoodnessAll: return true;
    case Algo::kBpGoodnessLast: return layer + 1 == num_layers;
    case Algo::kBpCe: return false;
  }
  return false;
}

FfLossSpec layer_loss_spec(const TrainConfig& config, int pairs, int width) {
  FfLossSpec loss;
  loss.pairs = pairs;
  loss.width = width;
  loss.theta = layer_threshold(config, width);
  loss.goodness = config.goodness;
  loss.loss = config.loss;
  return loss;
}

LayerBuffers::LayerBuffers(Backend& backend, const Mlp& network, int rows, int batch)
    : input(backend, static_cast<size_t>(rows) * network.in_width(0)),
      pair_loss(backend, batch),
      task_labels(backend, batch) {
  for (int l = 0; l < network.num_layers(); ++l) {
    xn.emplace_back(backend, static_cast<size_t>(rows) * network.in_width(l));
    h.emplace_back(backend, static_cast<size_t>(rows) * network.out_width(l));
    dz.emplace_back(backend, static_cast<size_t>(rows) * network.out_width(l));
  }
}

}  // namespace ff
