// A linear softmax classifier trained with Adam on fixed features: the fast classifier and the
// linear probe (docs/what-it-computes.md). Features are computed once by the caller and stay on the
// backend.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "ff/backend.hpp"

namespace ff {

struct LabelledFeatures {
  const float* features = nullptr;   // backend memory, [count x width]
  const int32_t* labels = nullptr;   // backend memory, [count]
  std::vector<int32_t> host_labels;  // the same labels on the host (for the per-epoch shuffle)
  size_t count = 0;
};

struct LinearClassifierConfig {
  int width = 0, classes = 0;
  int epochs = 10, batch = 100;
  float lr = 1e-3f;
  uint64_t seed = 0;
};

struct LinearClassifierResult {
  double test_accuracy = 0.0;
  std::vector<double> epoch_loss;  // mean training cross-entropy per epoch
};

// `on_epoch(epoch, loss)` (may be empty) reports progress after each epoch.
LinearClassifierResult train_linear_classifier(
    Backend& backend, const LinearClassifierConfig& config, const LabelledFeatures& train,
    const LabelledFeatures& test, const std::function<void(int, double)>& on_epoch = {});

}  // namespace ff
