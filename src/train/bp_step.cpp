// The backprop baselines of SPEC.md on the same MLP: gradients flow through every layer, including
// the RMS norms (full Jacobian) and, for bp-ce, a linear head with one output per label.
#include <algorithm>

#include "ff/error.hpp"
#include "ff/trainer.hpp"
#include "train/eval_helpers.hpp"
#include "train/phase.hpp"

namespace ff {

void FfTrainer::bp_step(BatchSpec spec) {
  const bool cross_entropy = algo_ == Algo::kBpCe;
  const int batch = spec.batch, rows = cross_entropy ? batch : 2 * batch;
  const int layers = network_.num_layers();
  spec.mode = cross_entropy ? LabelMode::kNone : LabelMode::kPositiveNegative;
  {
    Phase phase("prep", backend_, phase_times_);
    backend_.prepare_batch(spec, input_.data(), task_labels_.data());
    backend_.rms_norm(input_.data(), rows, network_.in_width(0), xn_[0].data(), network_.in_width(0));
  }
  forward_and_backward_bp(batch, rows, layers);
}

void FfTrainer::forward_and_backward_bp(int batch, int rows, int layers) {
  const bool cross_entropy = algo_ == Algo::kBpCe;

  {
    Phase phase("bp-forward", backend_, phase_times_);
    // Forward. A layer with its own FF loss gets dL/dz of that loss and its normalised output in one
    // fused pass; the others only the norm. xn_[layers] is the head's input (bp-ce).
    for (int l = 0; l < layers; ++l) {
      const int in = network_.in_width(l), out = network_.out_width(l);
      backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), xn_[l].data(),
                    h_[l].data(), Epilogue::kBiasRelu, network_.bias(l));
      float* next_norm = l + 1 < static_cast<int>(xn_.size()) ? xn_[l + 1].data() : nullptr;
      if (layer_has_loss(l)) {
        backend_.ff_loss_grad(layer_loss_spec(batch, out), h_[l].data(), dz_[l].data(), next_norm, out, pair_loss_.data());
        backend_.sum_into(pair_loss_.data(), batch, loss_sums_.data() + l);
      } else if (next_norm) {
        backend_.rms_norm(h_[l].data(), rows, out, next_norm, out);
      }
    }
  }

  if (cross_entropy) {
    Phase phase("bp-head", backend_, phase_times_);
    const int width = network_.out_width(layers - 1), labels = num_labels_;
    backend_.gemm(linear_forward_desc(batch, width, labels), head_->weight(0), xn_[layers].data(),
                  logits_.data(), Epilogue::kBias, head_->bias(0));
    backend_.softmax_xent(logits_.data(), task_labels_.data(), batch, labels,
                          1.0f / static_cast<float>(batch), dlogits_.data(), row_loss_.data());
    backend_.sum_into(row_loss_.data(), batch, loss_sums_.data() + layers);
    backend_.gemm(weight_grad_desc(batch, width, labels), xn_[layers].data(), dlogits_.data(),
                  head_->weight_grad(0));
    backend_.column_sum(dlogits_.data(), batch, labels, head_->bias_grad(0), 0.0f);
    backend_.gemm(input_grad_desc(batch, width, labels), head_->weight(0), dlogits_.data(),
                  dxn_[layers].data());
  }

  // Backward, top down: dz of layer l = its own loss's dz (if any) + the gradient arriving through
  // the norm that feeds the layer above, masked by the ReLU.
  Phase backward_phase("bp-backward", backend_, phase_times_);
  for (int l = layers - 1; l >= 0; --l) {
    const int in = network_.in_width(l), out = network_.out_width(l);
    const bool from_above = l + 1 < static_cast<int>(dxn_.size());
    if (from_above) {
      backend_.rms_norm_relu_backward(h_[l].data(), dxn_[l + 1].data(), rows, out, dz_[l].data(),
                                      layer_has_loss(l));
    }
    backend_.gemm(weight_grad_desc(rows, in, out), xn_[l].data(), dz_[l].data(),
                  network_.weight_grad(l));
    backend_.column_sum(dz_[l].data(), rows, out, network_.bias_grad(l), 0.0f);
    if (l > 0) {
      backend_.gemm(input_grad_desc(rows, in, out), network_.weight(l), dz_[l].data(),
                    dxn_[l].data());
    }
  }
}

double FfTrainer::evaluate_head(const ResidentSplit& split, uint64_t seed) {
  NvtxRange range("evaluate-head");
  require(algo_ == Algo::kBpCe, "only bp-ce has a classification head");
  const int layers = network_.num_layers(), labels = num_labels_;
  const int chunk = static_cast<int>(std::min<size_t>(config_.eval_batch, split.count));
  const int widest = max_width(network_);
  const Array<int32_t> indices = iota_indices(backend_, split.count);
  Array<float> input(backend_, static_cast<size_t>(chunk) * network_.in_width(0));
  Array<float> xn(backend_, static_cast<size_t>(chunk) * widest);
  Array<float> h(backend_, static_cast<size_t>(chunk) * widest);
  Array<float> logits(backend_, static_cast<size_t>(chunk) * labels);
  Array<int32_t> predictions(backend_, chunk), task_labels(backend_, chunk);
  Array<int64_t> correct(backend_, std::vector<int64_t>{0});

  BatchSpec spec = base_spec(split);
  spec.mode = LabelMode::kNone;
  spec.seed = seed;
  for (size_t start = 0; start < split.count; start += chunk) {
    const int rows = static_cast<int>(std::min<size_t>(chunk, split.count - start));
    spec.batch = rows;
    spec.indices = indices.data() + start;
    backend_.prepare_batch(spec, input.data(), task_labels.data());
    backend_.rms_norm(input.data(), rows, network_.in_width(0), xn.data(), network_.in_width(0));
    for (int l = 0; l < layers; ++l) {
      const int in = network_.in_width(l), out = network_.out_width(l);
      backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), xn.data(), h.data(),
                    Epilogue::kBiasRelu, network_.bias(l));
      backend_.rms_norm(h.data(), rows, out, xn.data(), out);
    }
    const int width = network_.out_width(layers - 1);
    backend_.gemm(linear_forward_desc(rows, width, labels), head_->weight(0), xn.data(),
                  logits.data(), Epilogue::kBias, head_->bias(0));
    backend_.argmax(logits.data(), rows, labels, labels, 1, predictions.data());
    backend_.count_equal(predictions.data(), task_labels.data(), rows, correct.data());
  }
  return static_cast<double>(correct.download()[0]) / static_cast<double>(split.count);
}

}  // namespace ff
