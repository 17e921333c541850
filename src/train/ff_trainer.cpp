// The FF training step: batch prep, then per layer forward, fused loss pass and weight gradient;
// then one optimiser launch over all parameters. No host<->device copy inside a step.
#include "ff/trainer.hpp"

#include <utility>

#include "ff/error.hpp"
#include "ff/philox.hpp"
#include "train/phase.hpp"

namespace ff {

ResidentSplit::ResidentSplit(Backend& backend, const ImageSet& set)
    : images(backend, set.images), labels(backend, set.labels), count(set.count) {
  labels_i32 = Array<int32_t>(backend, std::vector<int32_t>(set.labels.begin(), set.labels.end()));
}

std::vector<int32_t> shuffled_order(size_t count, uint64_t seed, uint64_t epoch) {
  std::vector<int32_t> order(count);
  for (size_t i = 0; i < count; ++i) order[i] = static_cast<int32_t>(i);
  for (size_t i = count; i > 1; --i) {
    const uint32_t word = random_words(seed, epoch, static_cast<uint32_t>(i), RandomPurpose::kShuffle).v[0];
    std::swap(order[i - 1], order[uniform_below(word, static_cast<uint32_t>(i))]);
  }
  return order;
}

Algo parse_algo(const std::string& name) {
  if (name == "ff") return Algo::kFf;
  if (name == "bp-ce") return Algo::kBpCe;
  if (name == "bp-goodness-last") return Algo::kBpGoodnessLast;
  if (name == "bp-goodness-all") return Algo::kBpGoodnessAll;
  throw Error("unknown --algo '" + name + "': use ff, bp-ce, bp-goodness-last or bp-goodness-all");
}

// bp-goodness-last trains only the last layer's goodness, so by default only it is scored.
static std::string default_score_layers(const TrainConfig& config) {
  if (config.score_layers == "default" && parse_algo(config.algo) == Algo::kBpGoodnessLast) {
    return "last1";
  }
  return config.score_layers;
}

static std::vector<int> network_dims(const TrainConfig& config, const Dataset& dataset) {
  std::vector<int> dims = parse_layers(config.layers_spec, dataset.pixels());
  dims.insert(dims.begin(), dataset.pixels());
  return dims;
}

FfTrainer::FfTrainer(Backend& backend, const TrainConfig& config, const Dataset& dataset)
    : backend_(backend),
      config_(config),
      algo_(parse_algo(config.algo)),
      channels_(dataset.channels),
      height_(dataset.height),
      width_(dataset.width),
      num_labels_(task_num_labels(config.task, dataset.num_classes)),
      train_(backend, dataset.train),
      test_(backend, dataset.test),
      network_(backend, network_dims(config, dataset), config.seed),
      optimizer_(backend, network_.parameter_count(), config.optimizer, config.lr, config.momentum),
      score_layers_(parse_score_layers(default_score_layers(config), network_.num_layers())) {
  require(config.batch > 0, "--batch must be positive");
  require(train_.count >= static_cast<size_t>(config.batch),
          "the training set has " + std::to_string(train_.count) + " images, fewer than one batch of " +
              std::to_string(config.batch) + "; lower --batch or raise --train-limit");
  require(num_labels_ >= 2 || config.task == Task::kUnsupervised,
          "the task needs at least two labels");
  // The index maps of ff/task.hpp assume these shapes (all four datasets satisfy them).
  require(config.task != Task::kRotation || height_ == width_,
          "--task rotation needs square images; this dataset's are " + std::to_string(height_) +
              "x" + std::to_string(width_));
  require(config.task != Task::kJigsaw || (height_ % 2 == 0 && width_ % 2 == 0),
          "--task jigsaw needs an even image height and width (2x2 patches)");
  require(num_labels_ <= height_ * width_,
          "the task's " + std::to_string(num_labels_) + " labels do not fit in the first channel");
  const int rows = 2 * config.batch;
  const int layers = network_.num_layers();
  epoch_order_ = Array<int32_t>(backend, train_.count);
  input_ = Array<float>(backend, static_cast<size_t>(rows) * network_.in_width(0));
  for (int l = 0; l < layers; ++l) {
    xn_.emplace_back(backend, static_cast<size_t>(rows) * network_.in_width(l));
    h_.emplace_back(backend, static_cast<size_t>(rows) * network_.out_width(l));
    dz_.emplace_back(backend, static_cast<size_t>(rows) * network_.out_width(l));
  }
  // Layer-1 reuse needs rows that differ only by their embedded label: FF with a labelled task.
  profile_steps_ = parse_profile_steps(config.profile_steps);
  reuse_layer1_ = config.reuse_layer1 && algo_ == Algo::kFf && num_labels_ >= 2;
  if (reuse_layer1_) {
    layer1_scratch_ = Array<float>(backend, static_cast<size_t>(config.batch) * network_.out_width(0));
  }
  pair_loss_ = Array<float>(backend, config.batch);
  loss_sums_ = Array<float>(backend, layers + 1);
  task_labels_ = Array<int32_t>(backend, config.batch);
  if (algo_ != Algo::kFf) {
    dxn_.emplace_back();  // no gradient for the input
    for (int l = 1; l < layers; ++l) {
      dxn_.emplace_back(backend, static_cast<size_t>(rows) * network_.in_width(l));
    }
  }
  if (algo_ == Algo::kBpCe) {
    require(num_labels_ >= 2, "bp-ce needs a task with labels");
    const int last = network_.out_width(layers - 1);
    head_ = std::make_unique<Mlp>(backend, std::vector<int>{last, num_labels_}, config.seed + 1);
    head_optimizer_ = std::make_unique<Optimizer>(backend, head_->parameter_count(),
                                                  config.optimizer, config.lr, config.momentum);
    xn_.emplace_back(backend, static_cast<size_t>(config.batch) * last);
    dxn_.emplace_back(backend, static_cast<size_t>(config.batch) * last);
    logits_ = Array<float>(backend, static_cast<size_t>(config.batch) * num_labels_);
    dlogits_ = Array<float>(backend, logits_.size());
    row_loss_ = Array<float>(backend, config.batch);
  }
}

FfLossSpec FfTrainer::layer_loss_spec(int pairs, int width) const {
  FfLossSpec loss;
  loss.pairs = pairs;
  loss.width = width;
  loss.theta = layer_threshold(config_, width);
  loss.goodness = config_.goodness;
  loss.loss = config_.loss;
  return loss;
}

bool FfTrainer::layer_has_loss(int layer) const {
  switch (algo_) {
    case Algo::kFf:
    case Algo::kBpGoodnessAll: return true;
    case Algo::kBpGoodnessLast: return layer + 1 == network_.num_layers();
    case Algo::kBpCe: return false;
  }
  return false;
}

BatchSpec FfTrainer::base_spec(const ResidentSplit& split) const {
  BatchSpec spec;
  spec.images = split.images.data();
  spec.class_labels = split.labels.data();
  spec.dataset_count = static_cast<uint32_t>(split.count);
  spec.channels = channels_;
  spec.height = height_;
  spec.width = width_;
  spec.task = config_.task;
  spec.num_labels = num_labels_;
  return spec;
}

int FfTrainer::steps_per_epoch() const { return static_cast<int>(train_.count / config_.batch); }

BatchSpec FfTrainer::train_spec(int epoch, int step) const {
  BatchSpec spec = base_spec(train_);
  spec.batch = config_.batch;
  spec.mode = LabelMode::kPositiveNegative;
  spec.seed = config_.seed;
  spec.epoch = static_cast<uint64_t>(epoch);
  spec.indices = epoch_order_.data() + static_cast<size_t>(step) * config_.batch;
  return spec;
}

void FfTrainer::ff_step(const BatchSpec& spec) {
  const int batch = spec.batch, rows = 2 * batch, layers = network_.num_layers();
  {
    Phase phase("prep", backend_, phase_times_);
    backend_.prepare_batch(spec, input_.data(), nullptr);
    backend_.rms_norm(input_.data(), rows, network_.in_width(0), xn_[0].data(), network_.in_width(0));
  }
  for (int l = 0; l < layers; ++l) {
    const int in = network_.in_width(l), out = network_.out_width(l);
    const bool reuse = l == 0 && reuse_layer1_;
    {
      Phase phase("forward", backend_, phase_times_);
      if (reuse) {
        // One GEMM for the positives; the negatives differ only in their label columns.
        backend_.gemm(linear_forward_desc(batch, in, out), network_.weight(0), xn_[0].data(),
                      layer1_scratch_.data(), Epilogue::kBias, network_.bias(0));
        backend_.label_swap_forward(layer1_scratch_.data(), xn_[0].data(), batch, 2, in, out,
                                    num_labels_, network_.weight(0), h_[0].data());
      } else {
        backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), xn_[l].data(),
                      h_[l].data(), Epilogue::kBiasRelu, network_.bias(l));
      }
    }
    {
      Phase phase("goodness", backend_, phase_times_);
      const bool has_next = l + 1 < layers;
      backend_.ff_loss_grad(layer_loss_spec(batch, out), h_[l].data(), dz_[l].data(),
                            has_next ? xn_[l + 1].data() : nullptr, out, pair_loss_.data());
      backend_.sum_into(pair_loss_.data(), batch, loss_sums_.data() + l);
    }
    Phase phase("weight-grad", backend_, phase_times_);
    if (reuse) {
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
}

std::vector<FfTrainer::StepGemm> FfTrainer::step_gemms() {
  const int rows = algo_ == Algo::kBpCe ? config_.batch : 2 * config_.batch;
  std::vector<StepGemm> gemms;
  for (int l = 0; l < network_.num_layers(); ++l) {
    const int in = network_.in_width(l), out = network_.out_width(l);
    const int gemm_rows = l == 0 && reuse_layer1_ ? config_.batch : rows;
    gemms.push_back({linear_forward_desc(gemm_rows, in, out), network_.weight(l), xn_[l].data(),
                     h_[l].data(), Epilogue::kBiasRelu, network_.bias(l)});
    gemms.push_back({weight_grad_desc(gemm_rows, in, out), xn_[l].data(), dz_[l].data(),
                     network_.weight_grad(l), Epilogue::kNone, nullptr});
    if (algo_ != Algo::kFf && l > 0) {
      gemms.push_back({input_grad_desc(rows, in, out), network_.weight(l), dz_[l].data(),
                       dxn_[l].data(), Epilogue::kNone, nullptr});
    }
  }
  return gemms;
}

void FfTrainer::optimizer_step() {
  Phase phase("optimizer", backend_, phase_times_);
  optimizer_.step(network_.params(), network_.grads());
  if (head_) head_optimizer_->step(head_->params(), head_->grads());
}

void FfTrainer::begin_epoch(int epoch) {
  epoch_order_.upload(shuffled_order(train_.count, config_.seed, static_cast<uint64_t>(epoch)));
  backend_.fill(loss_sums_.data(), loss_sums_.size(), 0.0f);
}

void FfTrainer::train_step(int epoch, int step) {
  if (global_step_ == profile_steps_.first) backend_.profiler_start();
  NvtxRange range("step");
  if (algo_ == Algo::kFf) {
    ff_step(train_spec(epoch, step));
  } else {
    bp_step(train_spec(epoch, step));
  }
  optimizer_step();
  if (++global_step_ == profile_steps_.second) backend_.profiler_stop();
}

std::vector<double> FfTrainer::end_epoch(int steps) {
  const std::vector<float> sums = loss_sums_.download();
  std::vector<double> mean_loss;
  for (int l = 0; l < network_.num_layers(); ++l) {
    if (layer_has_loss(l)) mean_loss.push_back(sums[l]);
  }
  if (algo_ == Algo::kBpCe) mean_loss.push_back(sums.back());
  for (double& loss : mean_loss) loss /= static_cast<double>(steps) * config_.batch;
  return mean_loss;
}

std::vector<double> FfTrainer::train_epoch(int epoch) {
  NvtxRange range("epoch");
  begin_epoch(epoch);
  const int steps = steps_per_epoch();
  for (int step = 0; step < steps; ++step) train_step(epoch, step);
  return end_epoch(steps);
}

std::vector<float> FfTrainer::compute_step_gradients(int epoch, int step) {
  epoch_order_.upload(shuffled_order(train_.count, config_.seed, static_cast<uint64_t>(epoch)));
  if (algo_ == Algo::kFf) {
    ff_step(train_spec(epoch, step));
  } else {
    bp_step(train_spec(epoch, step));
  }
  const int rows = algo_ == Algo::kBpCe ? config_.batch : 2 * config_.batch;
  std::vector<float> input = input_.download();
  input.resize(static_cast<size_t>(rows) * network_.in_width(0));
  return input;
}

}  // namespace ff
