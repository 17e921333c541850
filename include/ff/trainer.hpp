// A run's parts, built in order from a config and a dataset: the resident data, the Model, the
// algorithm's TrainingStep, the StepRunner that schedules it and the Evaluator. It holds them and
// does nothing else; the parts never do arithmetic on tensors themselves (docs/layout.md).
#pragma once

#include <memory>

#include "ff/backend.hpp"
#include "ff/config.hpp"
#include "ff/dataset.hpp"
#include "ff/evaluator.hpp"
#include "ff/model.hpp"
#include "ff/resident_split.hpp"
#include "ff/step_runner.hpp"
#include "ff/training_step.hpp"

namespace ff {

class Trainer {
 public:
  // Throws ff::Error when the dataset does not suit the config (fewer images than a batch, a task
  // the image shape cannot carry).
  Trainer(Backend& backend, const TrainConfig& config, const Dataset& dataset);

  Model& model() { return model_; }
  StepRunner& steps() { return runner_; }
  Evaluator& evaluator() { return evaluator_; }
  ResidentSplit& train_split() { return train_; }
  ResidentSplit& test_split() { return test_; }
  int num_labels() const { return shape_.num_labels; }
  int num_classes() const { return num_classes_; }

 private:
  TaskShape shape_;
  int num_classes_;
  ResidentSplit train_, test_;
  Model model_;
  std::unique_ptr<TrainingStep> step_;
  std::unique_ptr<LinearTracker> tracker_;  // --track-linear
  StepRunner runner_;
  Evaluator evaluator_;
};

}  // namespace ff
