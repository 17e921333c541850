#include "ff/evaluator.hpp"

#include <algorithm>

#include "chunked_forward.hpp"
#include "ff/error.hpp"
#include "ff/nvtx.hpp"

namespace ff {

Evaluator::Evaluator(Backend& backend, const TrainConfig& config, Model& model,
                     const TaskShape& shape)
    : backend_(backend),
      config_(config),
      model_(model),
      shape_(shape),
      score_layers_(scoring_layers(config, model.network().num_layers())) {}

bool Evaluator::classifies_slowly() const {
  return shape_.num_labels >= 2 && config_.algo != Algo::kBpCe;
}

SlowEvalResult Evaluator::evaluate_slow(const ResidentSplit& split, uint64_t seed) {
  NvtxRange range("evaluate-slow");
  require(classifies_slowly(),
          "slow classification needs labels in the input (not unsupervised, not bp-ce)");
  const Mlp& network = model_.network();
  const int layers = network.num_layers(), labels = shape_.num_labels;
  const size_t max_rows =
      static_cast<size_t>(labels) * std::min<size_t>(config_.eval_batch, split.count);
  Array<float> scores(backend_, max_rows * (layers + 1));  // per layer, then the scoring-layer sum
  Array<int32_t> predictions(backend_, max_rows / labels);
  Array<int64_t> correct(backend_, std::vector<int64_t>(layers + 1, 0));
  float* total = scores.data() + static_cast<size_t>(layers) * max_rows;

  ForwardPlan plan;
  plan.mode = LabelMode::kAllCandidates;
  plan.seed = seed;
  plan.reuse_layer1 = config_.reuse_layer1;
  plan.last_layer = layers - 1;
  plan.task_labels = true;
  plan.eval_batch = config_.eval_batch;
  ForwardHooks hooks;
  hooks.begin_chunk = [&](const ForwardChunk& chunk) { backend_.fill(total, chunk.rows, 0.0f); };
  hooks.after_layer = [&](const ForwardChunk& chunk, int l, const float* h) {
    const int out = network.out_width(l);
    const float theta = layer_threshold(config_, out);
    float* layer_scores = scores.data() + static_cast<size_t>(l) * max_rows;
    backend_.goodness_score(h, chunk.rows, out, theta, config_.goodness, layer_scores, false);
    if (std::find(score_layers_.begin(), score_layers_.end(), l) != score_layers_.end()) {
      backend_.goodness_score(h, chunk.rows, out, theta, config_.goodness, total, true);
    }
  };
  hooks.end_chunk = [&](const ForwardChunk& chunk) {
    for (int s = 0; s <= layers; ++s) {
      // Scores are laid out [label][sample]: the candidates of sample i are `images` apart.
      backend_.argmax(scores.data() + static_cast<size_t>(s) * max_rows, chunk.images, labels, 1,
                      chunk.images, predictions.data());
      backend_.count_equal(predictions.data(), chunk.task_labels, chunk.images, correct.data() + s);
    }
  };
  run_chunked_forward(backend_, network, split, shape_, plan, hooks);

  const std::vector<int64_t> counts = correct.download();
  SlowEvalResult result;
  for (int l = 0; l < layers; ++l) {
    result.per_layer.push_back(static_cast<double>(counts[l]) / static_cast<double>(split.count));
  }
  result.accuracy = static_cast<double>(counts[layers]) / static_cast<double>(split.count);
  return result;
}

double Evaluator::evaluate_head(const ResidentSplit& split, uint64_t seed) {
  NvtxRange range("evaluate-head");
  require(model_.has_head(), "only bp-ce has a classification head");
  const Mlp& network = model_.network();
  Mlp& head = model_.head();
  const int layers = network.num_layers(), labels = shape_.num_labels;
  const int chunk_images = static_cast<int>(std::min<size_t>(config_.eval_batch, split.count));
  Array<float> logits(backend_, static_cast<size_t>(chunk_images) * labels);
  Array<int32_t> predictions(backend_, chunk_images);
  Array<int64_t> correct(backend_, std::vector<int64_t>{0});

  ForwardPlan plan;
  plan.mode = LabelMode::kNone;
  plan.seed = seed;
  plan.last_layer = layers - 1;
  plan.normalise_last = true;  // the head reads the last layer's normalised output
  plan.task_labels = true;
  plan.eval_batch = config_.eval_batch;
  ForwardHooks hooks;
  hooks.end_chunk = [&](const ForwardChunk& chunk) {
    const int width = network.out_width(layers - 1);
    backend_.gemm(linear_forward_desc(chunk.rows, width, labels), head.weight(0), chunk.xn,
                  logits.data(), Epilogue::kBias, head.bias(0));
    backend_.argmax(logits.data(), chunk.rows, labels, labels, 1, predictions.data());
    backend_.count_equal(predictions.data(), chunk.task_labels, chunk.rows, correct.data());
  };
  run_chunked_forward(backend_, network, split, shape_, plan, hooks);
  return static_cast<double>(correct.download()[0]) / static_cast<double>(split.count);
}

double Evaluator::evaluate_tracker(const ResidentSplit& split) {
  NvtxRange range("evaluate-tracker");
  check_invariant(model_.has_tracker(), "no classifier trained alongside (--track-linear)");
  const Mlp& network = model_.network();
  Mlp& classifier = model_.tracker();
  const int features = classifier.in_width(0), classes = classifier.out_width(0);
  const int chunk_images = static_cast<int>(std::min<size_t>(config_.eval_batch, split.count));
  Array<float> chunk_features(backend_, static_cast<size_t>(chunk_images) * features);
  Array<float> logits(backend_, static_cast<size_t>(chunk_images) * classes);
  Array<int32_t> predictions(backend_, chunk_images);
  Array<int64_t> correct(backend_, std::vector<int64_t>{0});

  ForwardPlan plan;
  plan.mode = classifies_slowly() ? LabelMode::kNeutral : LabelMode::kNone;
  plan.apply_transform = false;
  plan.last_layer = *std::max_element(score_layers_.begin(), score_layers_.end());
  plan.eval_batch = config_.eval_batch;
  ForwardHooks hooks;
  int offset = 0;
  hooks.begin_chunk = [&](const ForwardChunk&) { offset = 0; };
  hooks.after_layer = [&](const ForwardChunk& chunk, int l, const float* h) {
    if (std::find(score_layers_.begin(), score_layers_.end(), l) == score_layers_.end()) return;
    const int out = network.out_width(l);
    backend_.rms_norm(h, chunk.images, out, chunk_features.data() + offset, features);
    offset += out;
  };
  hooks.end_chunk = [&](const ForwardChunk& chunk) {
    backend_.gemm(linear_forward_desc(chunk.images, features, classes), classifier.weight(0),
                  chunk_features.data(), logits.data(), Epilogue::kBias, classifier.bias(0));
    backend_.argmax(logits.data(), chunk.images, classes, classes, 1, predictions.data());
    backend_.count_equal(predictions.data(), split.labels_i32.data() + chunk.start, chunk.images,
                         correct.data());
  };
  run_chunked_forward(backend_, network, split, shape_, plan, hooks);
  return static_cast<double>(correct.download()[0]) / static_cast<double>(split.count);
}

Array<float> Evaluator::extract_features(const ResidentSplit& split, const std::vector<int>& layers,
                                         FeatureLabel label, Array<int32_t>* task_labels) {
  NvtxRange range("extract-features");
  require(
      label.kind == FeatureLabel::kNeutral || classifies_slowly(),
      "this network's input carries no label (unsupervised task or bp-ce): use the neutral label");
  require(label.kind != FeatureLabel::kFixed ||
              (label.fixed >= 0 && label.fixed < shape_.num_labels),
          "label " + std::to_string(label.fixed) + " does not exist: the task has " +
              std::to_string(shape_.num_labels) + " labels (0 to " +
              std::to_string(shape_.num_labels - 1) + ")");
  const Mlp& network = model_.network();
  std::vector<int> offsets;
  int feature_width = 0;
  for (int l : layers) {
    offsets.push_back(feature_width);
    feature_width += network.out_width(l);
  }
  Array<float> features(backend_, split.count * feature_width);

  ForwardPlan plan;
  // kTrue: the positives' rows of a training batch (the first of each image's two rows); kFixed:
  // the rows of candidate `fixed` in a slow-classification batch (images untransformed).
  plan.mode = !classifies_slowly()                 ? LabelMode::kNone
              : label.kind == FeatureLabel::kTrue  ? LabelMode::kPositiveNegative
              : label.kind == FeatureLabel::kFixed ? LabelMode::kAllCandidates
                                                   : LabelMode::kNeutral;
  plan.apply_transform = label.kind == FeatureLabel::kTrue;
  plan.seed = label.kind == FeatureLabel::kTrue ? config_.test_seed : 0;
  plan.last_layer = *std::max_element(layers.begin(), layers.end());
  plan.eval_batch = config_.eval_batch;
  plan.task_labels = task_labels != nullptr;
  const int group = label.kind == FeatureLabel::kFixed ? label.fixed : 0;
  if (task_labels) *task_labels = Array<int32_t>(backend_, split.count);
  ForwardHooks hooks;
  hooks.after_layer = [&](const ForwardChunk& chunk, int l, const float* h) {
    const auto selected = std::find(layers.begin(), layers.end(), l);
    if (selected == layers.end()) return;
    float* destination =
        features.data() + chunk.start * feature_width + offsets[selected - layers.begin()];
    const int out = network.out_width(l);
    backend_.rms_norm(h + static_cast<size_t>(group) * chunk.images * out, chunk.images, out,
                      destination, feature_width);
  };
  if (task_labels) {
    hooks.end_chunk = [&](const ForwardChunk& chunk) {
      backend_.copy(task_labels->data() + chunk.start, chunk.task_labels,
                    static_cast<size_t>(chunk.images) * sizeof(int32_t));
    };
  }
  run_chunked_forward(backend_, network, split, shape_, plan, hooks);
  return features;
}

}  // namespace ff
