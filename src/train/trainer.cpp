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
  // The index maps of ff/task.hpp assume these shapes (all four datasets satisfy them).
  require(shape.num_labels >= 2 || config.task == Task::kUnsupervised,
          "the task needs at least two labels");
  require(config.task != Task::kRotation || shape.height == shape.width,
          "--task rotation needs square images; this dataset's are " +
              std::to_string(shape.height) + "x" + std::to_string(shape.width));
  require(config.task != Task::kJigsaw || (shape.height % 2 == 0 && shape.width % 2 == 0),
          "--task jigsaw needs an even image height and width (2x2 patches)");
  require(shape.num_labels <= shape.height * shape.width,
          "the task's " + std::to_string(shape.num_labels) + " labels do not fit in the first channel");
  require(config.algo != Algo::kBpCe || shape.num_labels >= 2, "bp-ce needs a task with labels");
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
      train_(backend, dataset.train),
      test_(backend, dataset.test),
      model_(backend, config, network_dims(config, dataset), shape_.num_labels),
      step_(make_training_step(backend, config, model_, shape_.num_labels)),
      runner_(backend, config, model_, *step_, train_, shape_),
      evaluator_(backend, config, model_, shape_) {}

}  // namespace ff
