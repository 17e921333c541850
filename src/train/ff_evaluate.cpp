// Evaluation of an FF network: slow (goodness) classification over every candidate label, and the
// feature extraction that the fast classifier and the linear probe train on.
#include <algorithm>
#include <numeric>

#include "ff/error.hpp"
#include "cuda/nvtx.hpp"
#include "ff/trainer.hpp"
#include "train/eval_helpers.hpp"

namespace ff {


SlowEvalResult FfTrainer::evaluate_slow(const ResidentSplit& split, uint64_t seed) {
  NvtxRange range("evaluate-slow");
  require(num_labels_ >= 2 && input_labelled(),
          "slow classification needs labels in the input (not unsupervised, not bp-ce)");
  const int layers = network_.num_layers();
  const int chunk = static_cast<int>(std::min<size_t>(config_.eval_batch, split.count));
  const int labels = num_labels_;
  const size_t max_rows = static_cast<size_t>(labels) * chunk;
  const Array<int32_t> indices = iota_indices(backend_, split.count);
  Array<float> input(backend_, max_rows * network_.in_width(0));
  Array<float> xn(backend_, max_rows * max_width(network_)), h(backend_, max_rows * max_width(network_));
  Array<float> scores(backend_, max_rows * (layers + 1));  // per layer, then the scoring-layer sum
  Array<int32_t> predictions(backend_, chunk), task_labels(backend_, chunk);
  Array<int64_t> correct(backend_, layers + 1);
  // Layer-1 reuse: the C candidate rows of an image differ only in their label.
  const bool reuse = config_.reuse_layer1;
  Array<float> layer1_reference(backend_, reuse ? static_cast<size_t>(chunk) * network_.out_width(0) : 0);
  correct.upload(std::vector<int64_t>(layers + 1, 0));

  BatchSpec spec = base_spec(split);
  spec.mode = LabelMode::kAllCandidates;
  spec.seed = seed;
  spec.epoch = 0;
  for (size_t start = 0; start < split.count; start += chunk) {
    const int batch = static_cast<int>(std::min<size_t>(chunk, split.count - start));
    const int rows = labels * batch;
    spec.batch = batch;
    spec.indices = indices.data() + start;
    backend_.prepare_batch(spec, input.data(), task_labels.data());
    backend_.rms_norm(input.data(), rows, network_.in_width(0), xn.data(), network_.in_width(0));
    float* total = scores.data() + static_cast<size_t>(layers) * max_rows;
    backend_.fill(total, rows, 0.0f);
    for (int l = 0; l < layers; ++l) {
      const int in = network_.in_width(l), out = network_.out_width(l);
      if (l == 0 && reuse) {
        backend_.gemm(linear_forward_desc(batch, in, out), network_.weight(0), xn.data(),
                      layer1_reference.data(), Epilogue::kBias, network_.bias(0));
        backend_.label_swap_forward(layer1_reference.data(), xn.data(), batch, labels, in, out,
                                    labels, network_.weight(0), h.data());
      } else {
        backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), xn.data(), h.data(),
                      Epilogue::kBiasRelu, network_.bias(l));
      }
      const float theta = layer_threshold(config_, out);
      float* layer_scores = scores.data() + static_cast<size_t>(l) * max_rows;
      backend_.goodness_score(h.data(), rows, out, theta, config_.goodness, layer_scores, false);
      if (std::find(score_layers_.begin(), score_layers_.end(), l) != score_layers_.end()) {
        backend_.goodness_score(h.data(), rows, out, theta, config_.goodness, total, true);
      }
      if (l + 1 < layers) backend_.rms_norm(h.data(), rows, out, xn.data(), out);
    }
    for (int s = 0; s <= layers; ++s) {
      // Scores are laid out [label][sample]: the candidates of sample i are `batch` apart.
      backend_.argmax(scores.data() + static_cast<size_t>(s) * max_rows, batch, labels, 1, batch,
                      predictions.data());
      backend_.count_equal(predictions.data(), task_labels.data(), batch, correct.data() + s);
    }
  }
  const std::vector<int64_t> counts = correct.download();
  SlowEvalResult result;
  for (int l = 0; l < layers; ++l) {
    result.per_layer.push_back(static_cast<double>(counts[l]) / static_cast<double>(split.count));
  }
  result.accuracy = static_cast<double>(counts[layers]) / static_cast<double>(split.count);
  return result;
}

Array<float> FfTrainer::extract_features(const ResidentSplit& split, const std::vector<int>& layers) {
  NvtxRange range("extract-features");
  std::vector<int> offsets;
  int feature_width = 0;
  for (int l : layers) {
    offsets.push_back(feature_width);
    feature_width += network_.out_width(l);
  }
  const int last = *std::max_element(layers.begin(), layers.end());
  const int chunk = static_cast<int>(std::min<size_t>(config_.eval_batch, split.count));
  const Array<int32_t> indices = iota_indices(backend_, split.count);
  Array<float> input(backend_, static_cast<size_t>(chunk) * network_.in_width(0));
  Array<float> xn(backend_, static_cast<size_t>(chunk) * max_width(network_));
  Array<float> h(backend_, static_cast<size_t>(chunk) * max_width(network_));
  Array<float> features(backend_, split.count * feature_width);

  BatchSpec spec = base_spec(split);
  spec.mode = input_labelled() ? LabelMode::kNeutral : LabelMode::kNone;
  spec.apply_transform = false;
  for (size_t start = 0; start < split.count; start += chunk) {
    const int rows = static_cast<int>(std::min<size_t>(chunk, split.count - start));
    spec.batch = rows;
    spec.indices = indices.data() + start;
    backend_.prepare_batch(spec, input.data(), nullptr);
    backend_.rms_norm(input.data(), rows, network_.in_width(0), xn.data(), network_.in_width(0));
    for (int l = 0; l <= last; ++l) {
      const int in = network_.in_width(l), out = network_.out_width(l);
      backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), xn.data(), h.data(),
                    Epilogue::kBiasRelu, network_.bias(l));
      const auto selected = std::find(layers.begin(), layers.end(), l);
      if (selected != layers.end()) {
        float* destination = features.data() + start * feature_width + offsets[selected - layers.begin()];
        backend_.rms_norm(h.data(), rows, out, destination, feature_width);
      }
      if (l < last) backend_.rms_norm(h.data(), rows, out, xn.data(), out);
    }
  }
  return features;
}

}  // namespace ff
