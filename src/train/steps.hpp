// The training steps, one file each; make_training_step (training_step.cpp) picks one by --algo.
#pragma once

#include <memory>

#include "ff/training_step.hpp"

namespace ff {

std::unique_ptr<TrainingStep> make_ff_step(Backend& backend, const TrainConfig& config,
                                           Model& model, int num_labels);
std::unique_ptr<TrainingStep> make_bp_step(Backend& backend, const TrainConfig& config,
                                           Model& model, int num_labels);

}  // namespace ff
