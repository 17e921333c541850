// The Forward-Forward orchestrator: owns the resident data, the network and its step buffers, and
// drives the op interface. It never does arithmetic on tensors itself (shared/DESIGN.md).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ff/backend.hpp"
#include "ff/config.hpp"
#include "ff/dataset.hpp"
#include "ff/network.hpp"

namespace ff {

// One split of a dataset uploaded once to the backend.
struct ResidentSplit {
  Array<uint8_t> images, labels;
  Array<int32_t> labels_i32;  // the class labels as int32, for classifiers
  size_t count = 0;
  ResidentSplit(Backend& backend, const ImageSet& set);
};

struct SlowEvalResult {
  double accuracy = 0.0;               // scoring layers summed
  std::vector<double> per_layer;       // each hidden layer scored alone
};

class FfTrainer {
 public:
  FfTrainer(Backend& backend, const TrainConfig& config, const Dataset& dataset);

  // One epoch over the training set (the last partial batch is dropped); returns the mean loss of
  // every layer.
  std::vector<double> train_epoch(int epoch);
  int steps_per_epoch() const;

  // Slow (goodness) classification of the test set under the task's labels.
  SlowEvalResult evaluate_slow(const ResidentSplit& split, uint64_t seed);
  // Normalised activities of `layers` for every image of `split`, input carrying the neutral label
  // of the task (or no label where the task has none), images untransformed: [count x sum widths].
  Array<float> extract_features(const ResidentSplit& split, const std::vector<int>& layers);

  Mlp& network() { return network_; }
  Optimizer& optimizer() { return optimizer_; }
  ResidentSplit& train_split() { return train_; }
  ResidentSplit& test_split() { return test_; }
  const std::vector<int>& score_layers() const { return score_layers_; }
  int num_labels() const { return num_labels_; }

 private:
  BatchSpec base_spec(const ResidentSplit& split) const;

  Backend& backend_;
  TrainConfig config_;
  int channels_, height_, width_, num_labels_;
  ResidentSplit train_, test_;
  Mlp network_;
  Optimizer optimizer_;
  std::vector<int> score_layers_;
  // step buffers, allocated once
  Array<int32_t> epoch_order_;
  Array<float> input_;
  std::vector<Array<float>> xn_, h_, dz_;  // xn_[l] = normalised input of layer l
  Array<float> pair_loss_, loss_sums_;
};

// Draws the epoch's permutation of [0, count) (Fisher-Yates over Philox, backend-independent).
std::vector<int32_t> shuffled_order(size_t count, uint64_t seed, uint64_t epoch);

}  // namespace ff
