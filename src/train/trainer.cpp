#include "ff/trainer.hpp"

#include <string>
#include <vector>

#include "ff/error.hpp"

namespace ff {

namespace {

TaskShape task_shape(const TrainConfig& config, const Dataset& dataset) {
  require(config.batch > 0, "--batch must be positive");
  TaskShape shape;
  shape.channels = dataset.channels;
  shape.height = dataset.height;
  shape.width = dataset.width;
  shape.task = config.task;
  shape.num_labels = task_num_labels(config.task, dataset.num_classes);
  require_task_fits(config, shape.height, shape.width, shape.num_labels);
  return shape;
}

std::vector<int> network_dims(const TrainConfig& config, const Dataset& dataset) {
  std::vector<int> dims = parse_layers(config.layers_spec, dataset.pixels());
  dims.insert(dims.begin(), dataset.pixels());
  return dims;
}

}  // namespace

Trainer::Trainer(Backend& backend, const TrainConfig& config, const Dataset& dataset)
    : shape_(task_shape(config, dataset)),
      num_classes_(dataset.num_classes),
      train_(backend, dataset.train),
      test_(backend, dataset.test),
      model_(backend, config, network_dims(config, dataset), shape_.num_labels, num_classes_),
      step_(make_training_step(backend, config, model_, shape_.num_labels)),
      tracker_(config.track_linear
                   ? std::make_unique<LinearTracker>(
                         backend, config, model_, shape_, num_classes_,
                         static_cast<int>(dataset.train.count / static_cast<size_t>(config.batch)))
                   : nullptr),
      runner_(backend, config, model_, *step_, train_, shape_, tracker_.get()),
      evaluator_(backend, config, model_, shape_) {}

}  // namespace ff
