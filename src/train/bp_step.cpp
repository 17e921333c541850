// The backprop baselines (docs/what-it-computes.md) on the same MLP: gradients flow through every
// layer, including the RMS norms (full Jacobian) and, for bp-ce, a linear head with one output per
// label.
#include "ff/error.hpp"
#include "phase.hpp"
#include "steps.hpp"

namespace ff {

namespace {

class BpStep final : public TrainingStep {
 public:
  BpStep(Backend& backend, const TrainConfig& config, Model& model, int num_labels)
      : backend_(backend),
        config_(config),
        network_(model.network()),
        num_labels_(num_labels),
        buffers_(backend, network_, 2 * config.batch, config.batch) {
    const int rows = 2 * config.batch, layers = network_.num_layers();
    dxn_.emplace_back();  // no gradient for the input
    for (int l = 1; l < layers; ++l) {
      dxn_.emplace_back(backend, static_cast<size_t>(rows) * network_.in_width(l));
    }
    if (config.algo == Algo::kBpCe) {
      require(num_labels >= 2 && model.has_head(), "bp-ce needs a task with labels");
      head_ = &model.head();
      const int last = network_.out_width(layers - 1);
      // The head's input and its gradient: xn[layers] and dxn_[layers].
      buffers_.xn.emplace_back(backend, static_cast<size_t>(config.batch) * last);
      dxn_.emplace_back(backend, static_cast<size_t>(config.batch) * last);
      logits_ = Array<float>(backend, static_cast<size_t>(config.batch) * num_labels);
      dlogits_ = Array<float>(backend, logits_.size());
      row_loss_ = Array<float>(backend, config.batch);
    }
  }

  // Backprop's gradients are final only at the end of the step: no early updates.
  void enqueue_gradients(const BatchSpec& batch_spec, float* loss_sums, PhaseTimes* times,
                         EarlyUpdates* /*updates*/) override {
    const bool cross_entropy = config_.algo == Algo::kBpCe;
    BatchSpec spec = batch_spec;
    const int batch = spec.batch, rows = cross_entropy ? batch : 2 * batch;
    spec.mode = cross_entropy ? LabelMode::kNone : LabelMode::kPositiveNegative;
    {
      Phase phase("prep", backend_, times);
      backend_.prepare_batch(spec, buffers_.input.data(), buffers_.task_labels.data());
      backend_.rms_norm(buffers_.input.data(), rows, network_.in_width(0), buffers_.xn[0].data(),
                        network_.in_width(0));
    }
    forward_and_backward(batch, rows, network_.num_layers(), loss_sums, times);
  }

  std::vector<int> loss_slots() const override {
    const int layers = network_.num_layers();
    std::vector<int> slots;
    for (int l = 0; l < layers; ++l) {
      if (layer_has_loss(config_.algo, l, layers)) slots.push_back(l);
    }
    if (config_.algo == Algo::kBpCe) slots.push_back(layers);
    return slots;
  }

  std::vector<float> download_input() const override {
    std::vector<float> input = buffers_.input.download();
    const int rows = config_.algo == Algo::kBpCe ? config_.batch : 2 * config_.batch;
    input.resize(static_cast<size_t>(rows) * network_.in_width(0));
    return input;
  }

 private:
  void forward_and_backward(int batch, int rows, int layers, float* loss_sums, PhaseTimes* times);

  Backend& backend_;
  const TrainConfig config_;
  Mlp& network_;
  Mlp* head_ = nullptr;  // bp-ce
  const int num_labels_;
  LayerBuffers buffers_;           // xn[layers]: the head's input (bp-ce)
  std::vector<Array<float>> dxn_;  // dL/dxn[l] for l >= 1 (and the head's input)
  Array<float> logits_, dlogits_, row_loss_;
};

void BpStep::forward_and_backward(int batch, int rows, int layers, float* loss_sums,
                                  PhaseTimes* times) {
  const bool cross_entropy = config_.algo == Algo::kBpCe;

  {
    Phase phase("bp-forward", backend_, times);
    // Forward. A layer with its own FF loss gets dL/dz of that loss and its normalised output in
    // one fused pass; the others only the norm. buffers_.xn[layers] is the head's input (bp-ce).
    for (int l = 0; l < layers; ++l) {
      const int in = network_.in_width(l), out = network_.out_width(l);
      backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), buffers_.xn[l].data(),
                    buffers_.h[l].data(), Epilogue::kBiasRelu, network_.bias(l));
      float* next_norm =
          l + 1 < static_cast<int>(buffers_.xn.size()) ? buffers_.xn[l + 1].data() : nullptr;
      if (layer_has_loss(config_.algo, l, layers)) {
        backend_.ff_loss_grad(layer_loss_spec(config_, batch, out), buffers_.h[l].data(),
                              buffers_.dz[l].data(), next_norm, out, buffers_.pair_loss.data());
        backend_.sum_into(buffers_.pair_loss.data(), batch, loss_sums + l);
      } else if (next_norm) {
        backend_.rms_norm(buffers_.h[l].data(), rows, out, next_norm, out);
      }
    }
  }

  if (cross_entropy) {
    Phase phase("bp-head", backend_, times);
    const int width = network_.out_width(layers - 1), labels = num_labels_;
    backend_.gemm(linear_forward_desc(batch, width, labels), head_->weight(0),
                  buffers_.xn[layers].data(), logits_.data(), Epilogue::kBias, head_->bias(0));
    backend_.softmax_xent(logits_.data(), buffers_.task_labels.data(), batch, labels,
                          1.0f / static_cast<float>(batch), dlogits_.data(), row_loss_.data());
    backend_.sum_into(row_loss_.data(), batch, loss_sums + layers);
    backend_.gemm(weight_grad_desc(batch, width, labels), buffers_.xn[layers].data(),
                  dlogits_.data(), head_->weight_grad(0));
    backend_.column_sum(dlogits_.data(), batch, labels, head_->bias_grad(0), 0.0f);
    backend_.gemm(input_grad_desc(batch, width, labels), head_->weight(0), dlogits_.data(),
                  dxn_[layers].data());
  }

  // Backward, top down: dz of layer l = its own loss's dz (if any) + the gradient arriving through
  // the norm that feeds the layer above, masked by the ReLU.
  Phase backward_phase("bp-backward", backend_, times);
  for (int l = layers - 1; l >= 0; --l) {
    const int in = network_.in_width(l), out = network_.out_width(l);
    const bool from_above = l + 1 < static_cast<int>(dxn_.size());
    if (from_above) {
      backend_.rms_norm_relu_backward(buffers_.h[l].data(), dxn_[l + 1].data(), rows, out,
                                      buffers_.dz[l].data(),
                                      layer_has_loss(config_.algo, l, layers));
    }
    backend_.gemm(weight_grad_desc(rows, in, out), buffers_.xn[l].data(), buffers_.dz[l].data(),
                  network_.weight_grad(l));
    backend_.column_sum(buffers_.dz[l].data(), rows, out, network_.bias_grad(l), 0.0f);
    if (l > 0) {
      backend_.gemm(input_grad_desc(rows, in, out), network_.weight(l), buffers_.dz[l].data(),
                    dxn_[l].data());
    }
  }
}

}  // namespace

std::unique_ptr<TrainingStep> make_bp_step(Backend& backend, const TrainConfig& config,
                                           Model& model, int num_labels) {
  return std::make_unique<BpStep>(backend, config, model, num_labels);
}

}  // namespace ff
