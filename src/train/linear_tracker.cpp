#include "ff/linear_tracker.hpp"

#include <algorithm>

#include "eval_helpers.hpp"
#include "ff/error.hpp"
#include "phase.hpp"

namespace ff {

namespace {

// The classifier's input width; the model must have one.
int tracker_features(Model& model) {
  check_invariant(model.has_tracker(), "a LinearTracker for a model without a tracker");
  return model.tracker().in_width(0);
}

}  // namespace

LinearTracker::LinearTracker(Backend& backend, const TrainConfig& config, Model& model,
                             const TaskShape& shape, int num_classes, int steps_per_epoch)
    : backend_(backend),
      model_(model),
      shape_(shape),
      batch_(config.batch),
      classes_(num_classes),
      features_(tracker_features(model)),
      // As the probe's features: the neutral label where the network reads labels (not bp-ce,
      // not the unsupervised task).
      labelled_input_(shape.num_labels >= 2 && config.algo != Algo::kBpCe),
      layers_(scoring_layers(config, model.network().num_layers())) {
  const Mlp& network = model.network();
  const size_t rows = static_cast<size_t>(batch_);
  const size_t widest = static_cast<size_t>(max_width(network));
  input_ = Array<float>(backend, rows * network.in_width(0));
  xn_ = Array<float>(backend, rows * widest);
  h_ = Array<float>(backend, rows * widest);
  features_buffer_ = Array<float>(backend, rows * features_);
  logits_ = Array<float>(backend, rows * classes_);
  dlogits_ = Array<float>(backend, rows * classes_);
  row_loss_ = Array<float>(backend, rows);
  class_labels_ = Array<int32_t>(backend, rows);
  negatives_ = Array<int32_t>(backend, rows);
  // Allocated once, here: a captured step holds its address.
  schedule_ = Array<AdamScalars>(backend, static_cast<size_t>(steps_per_epoch));
}

void LinearTracker::begin_epoch(int steps) {
  check_invariant(static_cast<size_t>(steps) == schedule_.size(),
                  "the tracker's schedule is sized for another epoch length");
  schedule_.upload(model_.tracker_optimizer().schedule(steps));
}

void LinearTracker::enqueue_step(const BatchSpec& training_spec, const StepCursor* cursor,
                                 float* loss_sum, PhaseTimes* times) {
  Phase phase("track-linear", backend_, times);
  const Mlp& network = model_.network();
  Mlp& classifier = model_.tracker();
  BatchSpec spec = training_spec;
  spec.mode = labelled_input_ ? LabelMode::kNeutral : LabelMode::kNone;
  spec.apply_transform = false;
  spec.negative_labels = nullptr;
  spec.output_class_labels = true;
  backend_.prepare_batch(spec, input_.data(), class_labels_.data());
  backend_.rms_norm(input_.data(), batch_, network.in_width(0), xn_.data(), network.in_width(0));
  const int last = *std::max_element(layers_.begin(), layers_.end());
  int offset = 0;
  for (int l = 0; l <= last; ++l) {
    const int in = network.in_width(l), out = network.out_width(l);
    backend_.gemm(linear_forward_desc(batch_, in, out), network.weight(l), xn_.data(), h_.data(),
                  Epilogue::kBiasRelu, network.bias(l));
    if (std::find(layers_.begin(), layers_.end(), l) != layers_.end()) {
      backend_.rms_norm(h_.data(), batch_, out, features_buffer_.data() + offset, features_);
      offset += out;
    }
    if (l < last) backend_.rms_norm(h_.data(), batch_, out, xn_.data(), out);
  }
  backend_.gemm(linear_forward_desc(batch_, features_, classes_), classifier.weight(0),
                features_buffer_.data(), logits_.data(), Epilogue::kBias, classifier.bias(0));
  backend_.softmax_xent(logits_.data(), class_labels_.data(), batch_, classes_,
                        1.0f / static_cast<float>(batch_), dlogits_.data(), row_loss_.data());
  backend_.sum_into(row_loss_.data(), batch_, loss_sum);
  backend_.gemm(weight_grad_desc(batch_, features_, classes_), features_buffer_.data(),
                dlogits_.data(), classifier.weight_grad(0));
  backend_.column_sum(dlogits_.data(), batch_, classes_, classifier.bias_grad(0), 0.0f);
  model_.tracker_optimizer().enqueue_scheduled_step(classifier.params(), classifier.grads(),
                                                    schedule_.data(), cursor);
}

const int32_t* LinearTracker::enqueue_hard_negatives(const BatchSpec& spec) {
  backend_.hard_negative_labels(spec, logits_.data(), classes_, negatives_.data());
  return negatives_.data();
}

}  // namespace ff
