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
  streams_ = parse_pass_mode_streams(config.pass_mode) && algo_ == Algo::kFf;
  overlap_ = config.overlap && algo_ == Algo::kFf;
  graphs_ = parse_graphs(config.graphs, backend.kind() == DeviceKind::kCuda);
  cursor_ = Array<StepCursor>(backend, 1);
  if (optimizer_.is_adam()) {
    adam_schedule_ = Array<AdamScalars>(backend, static_cast<size_t>(steps_per_epoch()));
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

BatchSpec FfTrainer::train_spec() const {
  BatchSpec spec = base_spec(train_);
  spec.batch = config_.batch;
  spec.mode = LabelMode::kPositiveNegative;
  spec.seed = config_.seed;
  // The epoch and the rows come from the device cursor, so a captured step replays unchanged.
  spec.indices = epoch_order_.data();
  spec.cursor = cursor_.data();
  return spec;
}

void FfTrainer::seek(int epoch, int step) {
  if (epoch == cursor_epoch_ && step == cursor_step_) return;
  StepCursor cursor;
  cursor.epoch = static_cast<uint64_t>(epoch);
  cursor.step = step;
  cursor_.upload({cursor});
  cursor_epoch_ = epoch;
  cursor_step_ = step;
}

std::vector<FfTrainer::StepGemm> FfTrainer::step_gemms() {
  const int rows = algo_ == Algo::kBpCe ? config_.batch : 2 * config_.batch;
  std::vector<StepGemm> gemms;
  for (int l = 0; l < network_.num_layers(); ++l) {
    const int in = network_.in_width(l), out = network_.out_width(l);
    const bool reuse = l == 0 && reuse_layer1_;
    const int gemm_rows = reuse ? config_.batch : rows;
    if (streams_ && !reuse) {  // two GEMMs of B rows: positives, negatives
      const int batch = config_.batch;
      for (int half = 0; half < 2; ++half) {
        gemms.push_back({linear_forward_desc(batch, in, out), network_.weight(l),
                         xn_[l].data() + static_cast<size_t>(half) * batch * in,
                         h_[l].data() + static_cast<size_t>(half) * batch * out,
                         Epilogue::kBiasRelu, network_.bias(l)});
      }
    } else {
      gemms.push_back({linear_forward_desc(gemm_rows, in, out), network_.weight(l),
                       xn_[l].data(), h_[l].data(), Epilogue::kBiasRelu, network_.bias(l)});
    }
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
  // Adam's constants from the epoch's schedule at the device cursor (null for SGD, which has none).
  const AdamScalars* schedule = adam_schedule_.size() ? adam_schedule_.data() : nullptr;
  optimizer_.enqueue_scheduled_step(network_.params(), network_.grads(), schedule, cursor_.data());
  if (head_) {
    head_optimizer_->enqueue_scheduled_step(head_->params(), head_->grads(), schedule,
                                            cursor_.data());
  }
}

void FfTrainer::begin_epoch(int epoch) {
  epoch_order_.upload(shuffled_order(train_.count, config_.seed, static_cast<uint64_t>(epoch)));
  if (optimizer_.is_adam()) {
    // One schedule serves the head too: same settings, and both count every step.
    require(!head_ || head_optimizer_->steps_taken() == optimizer_.steps_taken(),
            "internal error: the head's optimiser is not at the network's step");
    adam_schedule_.upload(optimizer_.schedule(steps_per_epoch()));
  }
  backend_.fill(loss_sums_.data(), loss_sums_.size(), 0.0f);
  seek(epoch, 0);
}

void FfTrainer::enqueue_step() {
  const BatchSpec spec = train_spec();
  if (algo_ == Algo::kFf) {
    ff_step(spec);
  } else {
    bp_step(spec);
  }
  optimizer_step();
  backend_.advance_cursor(cursor_.data());
}

void FfTrainer::train_step(int epoch, int step) {
  seek(epoch, step);
  if (global_step_ == profile_steps_.first) backend_.profiler_start();
  {
    NvtxRange range("step");
    // The first step runs as issued (GEMM plans, scratch buffers: nothing may be created inside a
    // capture), and so does every step whose phases are timed (they synchronise).
    if (!graphs_ || phase_times_ != nullptr || uncaptured_steps_ == 0) {
      enqueue_step();
      ++uncaptured_steps_;
    } else {
      if (!step_graph_) {
        step_graph_ = backend_.capture([this] { enqueue_step(); });
        require(step_graph_ != nullptr, "internal error: --graphs on with a backend that cannot "
                                        "capture (" + backend_.name() + ")");
      }
      step_graph_->replay();
    }
  }
  optimizer_.count_step();
  if (head_) head_optimizer_->count_step();
  ++cursor_step_;
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
  seek(epoch, step);
  if (algo_ == Algo::kFf) {
    ff_step(train_spec());
  } else {
    bp_step(train_spec());
  }
  const int rows = algo_ == Algo::kBpCe ? config_.batch : 2 * config_.batch;
  std::vector<float> input = input_.download();
  input.resize(static_cast<size_t>(rows) * network_.in_width(0));
  return input;
}

}  // namespace ff
