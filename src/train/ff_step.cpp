// The Forward-Forward training step (docs/what-it-computes.md): batch prep, then per layer the
// forward, the fused loss pass and the weight gradient; nothing flows back from layer l to layer
// l-1.
//
// Lanes (ff::Backend): with --pass-mode streams the positives' and negatives' forward GEMMs run on
// two lanes; with --overlap layer l's weight gradient runs on a third, concurrently with the
// forward of layer l+1. Hazards, for whoever changes this: the weight-gradient lane reads xn[l]
// and dz[l], which the main lane does not touch again within the step; the next step's writes
// to them come after the join at the end of enqueue_gradients. With early updates, layer l's
// optimiser update follows its weight gradient on that lane; it writes W_l, b_l and their Adam
// moments, which the main lane does not read again within the step. The CPU runs every op as it is
// issued, so a lane plan's CPU result is its serial result (and the parity oracle for the GPU's).
#include "phase.hpp"
#include "steps.hpp"

namespace ff {

namespace {

// Issues the backend's ops on `lane` while it lives, then returns to the main lane (also when an
// op throws: the rest of the engine assumes lane 0).
class OnLane {
 public:
  OnLane(Backend& backend, int lane) : backend_(backend) { backend_.set_lane(lane); }
  ~OnLane() { backend_.set_lane(0); }
  OnLane(const OnLane&) = delete;
  OnLane& operator=(const OnLane&) = delete;

 private:
  Backend& backend_;
};

// Lanes (ff::Backend) of the FF step: the main one, the negatives' forward, the weight gradients.
constexpr int kMainLane = 0, kNegativeLane = 1, kWeightGradLane = 2;

class FfStep final : public TrainingStep {
 public:
  FfStep(Backend& backend, const TrainConfig& config, Model& model, int num_labels)
      : backend_(backend),
        config_(config),
        model_(model),
        network_(model.network()),
        num_labels_(num_labels),
        // Layer-1 reuse needs rows that differ only by their embedded label: a labelled task.
        reuse_layer1_(config.reuse_layer1 && num_labels >= 2),
        streams_(config.pass_mode == PassMode::kStreams),
        overlap_(config.overlap),
        buffers_(backend, network_, 2 * config.batch, config.batch) {
    if (reuse_layer1_) {
      layer1_scratch_ =
          Array<float>(backend, static_cast<size_t>(config.batch) * network_.out_width(0));
    }
  }

  void enqueue_gradients(const BatchSpec& spec, float* loss_sums, PhaseTimes* times,
                         EarlyUpdates* updates) override;
  std::vector<int> loss_slots() const override {
    std::vector<int> slots;
    slots.reserve(static_cast<size_t>(network_.num_layers()));
    for (int l = 0; l < network_.num_layers(); ++l) slots.push_back(l);
    return slots;
  }
  std::vector<float> download_input() const override { return buffers_.input.download(); }

 private:
  void forward(int layer, int batch);      // h[layer] for the 2*batch rows (pass mode, reuse)
  void weight_grad(int layer, int batch);  // on the weight-gradient lane when overlapping

  Backend& backend_;
  const TrainConfig config_;
  Model& model_;
  Mlp& network_;
  const int num_labels_;
  const bool reuse_layer1_;  // see ff/batch_prep.hpp, "layer-1 reuse across labels"
  const bool streams_;       // --pass-mode streams
  const bool overlap_;       // --overlap
  LayerBuffers buffers_;
  Array<float> layer1_scratch_;  // [B x out_0]: positives' pre-activations, then dz_pos + dz_neg
};

}  // namespace

void FfStep::enqueue_gradients(const BatchSpec& spec, float* loss_sums, PhaseTimes* times,
                               EarlyUpdates* updates) {
  const int batch = spec.batch, rows = 2 * batch, layers = network_.num_layers();
  {
    Phase phase("prep", backend_, times);
    backend_.prepare_batch(spec, buffers_.input.data(), nullptr);
    backend_.rms_norm(buffers_.input.data(), rows, network_.in_width(0), buffers_.xn[0].data(),
                      network_.in_width(0));
  }
  for (int l = 0; l < layers; ++l) {
    const int out = network_.out_width(l);
    {
      Phase phase("forward", backend_, times);
      forward(l, batch);
    }
    {
      Phase phase("goodness", backend_, times);
      const bool has_next = l + 1 < layers;
      backend_.ff_loss_grad(layer_loss_spec(config_, batch, out), buffers_.h[l].data(),
                            buffers_.dz[l].data(), has_next ? buffers_.xn[l + 1].data() : nullptr,
                            out, buffers_.pair_loss.data());
      backend_.sum_into(buffers_.pair_loss.data(), batch, loss_sums + l);
      if (config_.peer_norm > 0.0f) {
        PeerNormSpec peer;
        peer.pairs = batch;
        peer.width = out;
        peer.lambda = config_.peer_norm;
        backend_.peer_norm(peer, buffers_.h[l].data(), model_.peer_means(l), buffers_.dz[l].data());
      }
    }
    {
      Phase phase("weight-grad", backend_, times);
      weight_grad(l, batch);
    }
    if (updates != nullptr) {
      // Layer l's gradient is final: update it now, behind its gradient on the same lane (the
      // main lane never reads W_l again within the step).
      Phase phase("optimizer", backend_, times);
      OnLane lane(backend_, overlap_ ? kWeightGradLane : kMainLane);
      updates->layer_done(l);
    }
  }
  // Whatever comes next (the remaining updates, the next step) may read every gradient and weight.
  if (overlap_) backend_.lane_wait(kMainLane, kWeightGradLane);
}

void FfStep::forward(int l, int batch) {
  const int in = network_.in_width(l), out = network_.out_width(l), rows = 2 * batch;
  if (l == 0 && reuse_layer1_) {
    // One GEMM for the positives; the negatives differ only in their label columns.
    backend_.gemm(linear_forward_desc(batch, in, out), network_.weight(0), buffers_.xn[0].data(),
                  layer1_scratch_.data(), Epilogue::kBias, network_.bias(0));
    backend_.label_swap_forward(layer1_scratch_.data(), buffers_.xn[0].data(), batch, 2, in, out,
                                num_labels_, network_.weight(0), buffers_.h[0].data());
    return;
  }
  if (!streams_) {
    backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), buffers_.xn[l].data(),
                  buffers_.h[l].data(), Epilogue::kBiasRelu, network_.bias(l));
    return;
  }
  // Positives (rows 0..B) on the main lane, negatives (B..2B) on theirs, at the same time. The
  // negatives' lane waits for xn[l] (written on the main lane) and the loss pass for both halves.
  const size_t half_in = static_cast<size_t>(batch) * in,
               half_out = static_cast<size_t>(batch) * out;
  backend_.lane_wait(kNegativeLane, kMainLane);
  backend_.gemm(linear_forward_desc(batch, in, out), network_.weight(l), buffers_.xn[l].data(),
                buffers_.h[l].data(), Epilogue::kBiasRelu, network_.bias(l));
  {
    OnLane negatives(backend_, kNegativeLane);
    backend_.gemm(linear_forward_desc(batch, in, out), network_.weight(l),
                  buffers_.xn[l].data() + half_in, buffers_.h[l].data() + half_out,
                  Epilogue::kBiasRelu, network_.bias(l));
  }
  backend_.lane_wait(kMainLane, kNegativeLane);
}

void FfStep::weight_grad(int l, int batch) {
  const int in = network_.in_width(l), out = network_.out_width(l), rows = 2 * batch;
  // With overlap, layer l's gradient runs on its own lane once the loss pass has written dz[l],
  // while the main lane goes on with layer l+1 (which touches neither xn[l] nor dz[l]).
  if (overlap_) backend_.lane_wait(kWeightGradLane, kMainLane);
  OnLane lane(backend_, overlap_ ? kWeightGradLane : kMainLane);
  if (l == 0 && reuse_layer1_) {
    // dW = dz_pos^T xn_pos + dz_neg^T xn_neg = (dz_pos + dz_neg)^T xn_pos + label terms.
    const size_t half = static_cast<size_t>(batch) * out;
    backend_.add(buffers_.dz[0].data(), buffers_.dz[0].data() + half, half, layer1_scratch_.data());
    backend_.gemm(weight_grad_desc(batch, in, out), buffers_.xn[0].data(), layer1_scratch_.data(),
                  network_.weight_grad(0));
    backend_.label_swap_weight_correction(buffers_.xn[0].data(), buffers_.dz[0].data() + half,
                                          batch, in, out, num_labels_, network_.weight_grad(0));
  } else {
    backend_.gemm(weight_grad_desc(rows, in, out), buffers_.xn[l].data(), buffers_.dz[l].data(),
                  network_.weight_grad(l));
  }
  backend_.column_sum(buffers_.dz[l].data(), rows, out, network_.bias_grad(l), 0.0f);
}

std::unique_ptr<TrainingStep> make_ff_step(Backend& backend, const TrainConfig& config,
                                           Model& model, int num_labels) {
  return std::make_unique<FfStep>(backend, config, model, num_labels);
}

}  // namespace ff
