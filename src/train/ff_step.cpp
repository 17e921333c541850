// The Forward-Forward training step (SPEC.md): batch prep, then per layer the forward, the fused
// loss pass and the weight gradient; nothing flows back from layer l to layer l-1.
//
// Lanes (ff::Backend): with --pass-mode streams the positives' and negatives' forward GEMMs run on
// two lanes; with --overlap layer l's weight gradient runs on a third, concurrently with the
// forward of layer l+1. Hazards, for whoever changes this: the weight-gradient lane reads xn_[l]
// and dz_[l], which the main lane does not touch again within the step; the next step's writes
// to them come after the join at the end of ff_step. The CPU runs every op as it is issued, so a
// lane plan's CPU result is its serial result (and the parity oracle for the GPU's).
#include "ff/trainer.hpp"
#include "train/phase.hpp"

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

}  // namespace

void FfTrainer::ff_step(const BatchSpec& spec) {
  const int batch = spec.batch, rows = 2 * batch, layers = network_.num_layers();
  {
    Phase phase("prep", backend_, phase_times_);
    backend_.prepare_batch(spec, input_.data(), nullptr);
    backend_.rms_norm(input_.data(), rows, network_.in_width(0), xn_[0].data(), network_.in_width(0));
  }
  for (int l = 0; l < layers; ++l) {
    const int out = network_.out_width(l);
    {
      Phase phase("forward", backend_, phase_times_);
      ff_forward(l, batch);
    }
    {
      Phase phase("goodness", backend_, phase_times_);
      const bool has_next = l + 1 < layers;
      backend_.ff_loss_grad(layer_loss_spec(batch, out), h_[l].data(), dz_[l].data(),
                            has_next ? xn_[l + 1].data() : nullptr, out, pair_loss_.data());
      backend_.sum_into(pair_loss_.data(), batch, loss_sums_.data() + l);
    }
    Phase phase("weight-grad", backend_, phase_times_);
    ff_weight_grad(l, batch);
  }
  // The optimiser reads every weight gradient.
  if (overlap_) backend_.lane_wait(kMainLane, kWeightGradLane);
}

void FfTrainer::ff_forward(int l, int batch) {
  const int in = network_.in_width(l), out = network_.out_width(l), rows = 2 * batch;
  if (l == 0 && reuse_layer1_) {
    // One GEMM for the positives; the negatives differ only in their label columns.
    backend_.gemm(linear_forward_desc(batch, in, out), network_.weight(0), xn_[0].data(),
                  layer1_scratch_.data(), Epilogue::kBias, network_.bias(0));
    backend_.label_swap_forward(layer1_scratch_.data(), xn_[0].data(), batch, 2, in, out,
                                num_labels_, network_.weight(0), h_[0].data());
    return;
  }
  if (!streams_) {
    backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), xn_[l].data(),
                  h_[l].data(), Epilogue::kBiasRelu, network_.bias(l));
    return;
  }
  // Positives (rows 0..B) on the main lane, negatives (B..2B) on theirs, at the same time. The
  // negatives' lane waits for xn_[l] (written on the main lane) and the loss pass for both halves.
  const size_t half_in = static_cast<size_t>(batch) * in, half_out = static_cast<size_t>(batch) * out;
  backend_.lane_wait(kNegativeLane, kMainLane);
  backend_.gemm(linear_forward_desc(batch, in, out), network_.weight(l), xn_[l].data(),
                h_[l].data(), Epilogue::kBiasRelu, network_.bias(l));
  {
    OnLane negatives(backend_, kNegativeLane);
    backend_.gemm(linear_forward_desc(batch, in, out), network_.weight(l), xn_[l].data() + half_in,
                  h_[l].data() + half_out, Epilogue::kBiasRelu, network_.bias(l));
  }
  backend_.lane_wait(kMainLane, kNegativeLane);
}

void FfTrainer::ff_weight_grad(int l, int batch) {
  const int in = network_.in_width(l), out = network_.out_width(l), rows = 2 * batch;
  // With overlap, layer l's gradient runs on its own lane once the loss pass has written dz_[l],
  // while the main lane goes on with layer l+1 (which touches neither xn_[l] nor dz_[l]).
  if (overlap_) backend_.lane_wait(kWeightGradLane, kMainLane);
  OnLane lane(backend_, overlap_ ? kWeightGradLane : kMainLane);
  if (l == 0 && reuse_layer1_) {
    // dW = dz_pos^T xn_pos + dz_neg^T xn_neg = (dz_pos + dz_neg)^T xn_pos + label terms.
    const size_t half = static_cast<size_t>(batch) * out;
    backend_.add(dz_[0].data(), dz_[0].data() + half, half, layer1_scratch_.data());
    backend_.gemm(weight_grad_desc(batch, in, out), xn_[0].data(), layer1_scratch_.data(),
                  network_.weight_grad(0));
    backend_.label_swap_weight_correction(xn_[0].data(), dz_[0].data() + half, batch, in, out,
                                          num_labels_, network_.weight_grad(0));
  } else {
    backend_.gemm(weight_grad_desc(rows, in, out), xn_[l].data(), dz_[l].data(),
                  network_.weight_grad(l));
  }
  backend_.column_sum(dz_[l].data(), rows, out, network_.bias_grad(l), 0.0f);
}

}  // namespace ff
