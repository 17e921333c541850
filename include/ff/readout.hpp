// Linear read-outs of a frozen network: the fast classifier and the transfer probe
// (docs/what-it-computes.md). Both compute the features once (neutral label of the task,
// untransformed images) and train a softmax classifier on the class labels.
#pragma once

#include <string>
#include <vector>

#include "ff/dataset.hpp"
#include "ff/linear_classifier.hpp"
#include "ff/trainer.hpp"

namespace ff {

struct ReadoutConfig {
  std::vector<int> layers;  // 0-based hidden layers whose normalised activities are concatenated
  int epochs = 100;
  float lr = 1e-3f;
  int batch = 100;
  uint64_t seed = 0;
  std::string what = "probe";  // for the progress lines
};

LinearClassifierResult linear_readout(Backend& backend, Trainer& trainer, const Dataset& dataset,
                                      const ReadoutConfig& config);

}  // namespace ff
