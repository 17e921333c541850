#include "ff/model.hpp"

#include <algorithm>

namespace ff {

Model::Model(Backend& backend, const TrainConfig& config, const std::vector<int>& dims,
             int num_labels, int num_classes)
    : network_(backend, dims, config.seed),
      optimizer_(backend, network_.parameter_count(), config.optimizer, config.lr,
                 config.momentum) {
  const int layers = network_.num_layers();
  if (config.algo == Algo::kBpCe) {
    const int last = network_.out_width(layers - 1);
    head_ = std::make_unique<Mlp>(backend, std::vector<int>{last, num_labels}, config.seed + 1);
    head_optimizer_ = std::make_unique<Optimizer>(backend, head_->parameter_count(),
                                                  config.optimizer, config.lr, config.momentum);
  }
  if (config.track_linear) {
    int features = 0;  // each scoring layer once, however often the selection names it
    for (int l = 0; l < layers; ++l) {
      const std::vector<int> scoring = scoring_layers(config, layers);
      if (std::find(scoring.begin(), scoring.end(), l) != scoring.end()) {
        features += network_.out_width(l);
      }
    }
    tracker_ = std::make_unique<Mlp>(backend, std::vector<int>{features, num_classes}, config.seed);
    // Zeros, as the fast classifier and the probe start: the problem is convex, and the curve
    // then depends on no draw.
    tracker_->params().upload(std::vector<float>(tracker_->parameter_count(), 0.0f));
    tracker_optimizer_ = std::make_unique<Optimizer>(backend, tracker_->parameter_count(),
                                                     OptimizerKind::kAdam, config.track_lr, 0.0f);
  }
  if (config.peer_norm > 0.0f) {
    size_t units = 0;
    for (int l = 0; l < layers; ++l) {
      peer_offsets_.push_back(units);
      units += static_cast<size_t>(network_.out_width(l));
    }
    // Any constant start gives the same loss and gradients (only deviations from the layer's mean
    // count); zeros.
    peer_means_ = Array<float>(backend, std::vector<float>(units, 0.0f));
  }
}

void Model::enqueue_layers_update(int first, int count, const AdamScalars* schedule,
                                  const StepCursor* cursor) {
  optimizer_.enqueue_scheduled_range(network_.params(), network_.grads(), schedule, cursor,
                                     network_.layers_offset(first),
                                     network_.layers_size(first, count));
}

void Model::enqueue_head_update(const AdamScalars* schedule, const StepCursor* cursor) {
  if (head_)
    head_optimizer_->enqueue_scheduled_step(head_->params(), head_->grads(), schedule, cursor);
}

void Model::count_step() {
  optimizer_.count_step();
  if (head_) head_optimizer_->count_step();
  if (tracker_) tracker_optimizer_->count_step();
}

}  // namespace ff
