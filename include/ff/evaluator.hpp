// Evaluation of a trained Model on a resident split: slow (goodness) classification, the bp-ce
// head, and the features the fast classifier and the probe train on. All three run one chunked
// forward (src/train/chunked_forward.hpp) and differ in what they read from it.
#pragma once

#include <cstdint>
#include <vector>

#include "ff/backend.hpp"
#include "ff/config.hpp"
#include "ff/model.hpp"
#include "ff/resident_split.hpp"

namespace ff {

struct SlowEvalResult {
  double accuracy = 0.0;          // scoring layers summed
  std::vector<double> per_layer;  // each hidden layer scored alone
};

// The label the input carries when features are taken (ffcuda embed --label).
struct FeatureLabel {
  enum Kind {
    kNeutral,  // every label value 1/C, images untransformed: what the probe sees
    kTrue,     // the task's true label, images transformed as in training (a pretext label)
    kFixed,    // label `fixed` on every image, images untransformed
  } kind = kNeutral;
  int fixed = 0;
};

class Evaluator {
 public:
  Evaluator(Backend& backend, const TrainConfig& config, Model& model, const TaskShape& shape);

  // Whether the input carries the task's labels, so slow classification applies (a labelled task,
  // not bp-ce).
  bool classifies_slowly() const;
  // Slow classification of `split` under the task's labels, transforms drawn from `seed`.
  SlowEvalResult evaluate_slow(const ResidentSplit& split, uint64_t seed);
  // bp-ce: accuracy of the classification head on the task's labels.
  double evaluate_head(const ResidentSplit& split, uint64_t seed);
  // Normalised activities of `layers` for every image of `split`: [count x sum widths]. By default
  // the input carries the neutral label of the task (no label where the task or the algorithm has
  // none) and images are untransformed. With `task_labels`, each image's task label lands there
  // ([count], backend memory): the drawn transform for kTrue on a pretext task.
  Array<float> extract_features(const ResidentSplit& split, const std::vector<int>& layers,
                                FeatureLabel label = {}, Array<int32_t>* task_labels = nullptr);
  // --track-linear: the test accuracy of the classifier trained alongside on the class labels of
  // `split` (its features as in training: the neutral label, untransformed images).
  double evaluate_tracker(const ResidentSplit& split);
  // The layers slow classification sums (--score-layers).
  const std::vector<int>& score_layers() const { return score_layers_; }

 private:
  Backend& backend_;
  const TrainConfig config_;
  Model& model_;
  const TaskShape shape_;
  const std::vector<int> score_layers_;
};

}  // namespace ff
