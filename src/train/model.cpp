#include "ff/model.hpp"

namespace ff {

Model::Model(Backend& backend, const TrainConfig& config, const std::vector<int>& dims,
             int num_labels)
    : network_(backend, dims, config.seed),
      optimizer_(backend, network_.parameter_count(), config.optimizer, config.lr,
                 config.momentum) {
  if (config.algo == Algo::kBpCe) {
    const int last = network_.out_width(network_.num_layers() - 1);
    head_ = std::make_unique<Mlp>(backend, std::vector<int>{last, num_labels}, config.seed + 1);
    head_optimizer_ = std::make_unique<Optimizer>(backend, head_->parameter_count(),
                                                  config.optimizer, config.lr, config.momentum);
  }
}

void Model::enqueue_update(const AdamScalars* schedule, const StepCursor* cursor) {
  optimizer_.enqueue_scheduled_step(network_.params(), network_.grads(), schedule, cursor);
  if (head_) head_optimizer_->enqueue_scheduled_step(head_->params(), head_->grads(), schedule, cursor);
}

void Model::count_step() {
  optimizer_.count_step();
  if (head_) head_optimizer_->count_step();
}

}  // namespace ff
