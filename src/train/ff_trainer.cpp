// The FF training step: batch prep, then per layer forward, fused loss pass and weight gradient;
// then one optimiser launch over all parameters. No host<->device copy inside a step.
#include "ff/trainer.hpp"

#include <utility>

#include "ff/error.hpp"
#include "ff/philox.hpp"

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

static std::vector<int> network_dims(const TrainConfig& config, const Dataset& dataset) {
  std::vector<int> dims = parse_layers(config.layers_spec, dataset.pixels());
  dims.insert(dims.begin(), dataset.pixels());
  return dims;
}

FfTrainer::FfTrainer(Backend& backend, const TrainConfig& config, const Dataset& dataset)
    : backend_(backend),
      config_(config),
      channels_(dataset.channels),
      height_(dataset.height),
      width_(dataset.width),
      num_labels_(task_num_labels(config.task, dataset.num_classes)),
      train_(backend, dataset.train),
      test_(backend, dataset.test),
      network_(backend, network_dims(config, dataset), config.seed),
      optimizer_(backend, network_.parameter_count(), config.optimizer, config.lr, config.momentum),
      score_layers_(parse_score_layers(config.score_layers, network_.num_layers())) {
  require(config.batch > 0, "--batch must be positive");
  require(train_.count >= static_cast<size_t>(config.batch),
          "the training set has " + std::to_string(train_.count) + " images, fewer than one batch of " +
              std::to_string(config.batch) + "; lower --batch or raise --train-limit");
  require(num_labels_ >= 2 || config.task == Task::kUnsupervised,
          "the task needs at least two labels");
  const int rows = 2 * config.batch;
  const int layers = network_.num_layers();
  epoch_order_ = Array<int32_t>(backend, train_.count);
  input_ = Array<float>(backend, static_cast<size_t>(rows) * network_.in_width(0));
  for (int l = 0; l < layers; ++l) {
    xn_.emplace_back(backend, static_cast<size_t>(rows) * network_.in_width(l));
    h_.emplace_back(backend, static_cast<size_t>(rows) * network_.out_width(l));
    dz_.emplace_back(backend, static_cast<size_t>(rows) * network_.out_width(l));
  }
  pair_loss_ = Array<float>(backend, config.batch);
  loss_sums_ = Array<float>(backend, layers);
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

std::vector<double> FfTrainer::train_epoch(int epoch) {
  const int batch = config_.batch, rows = 2 * batch, layers = network_.num_layers();
  epoch_order_.upload(shuffled_order(train_.count, config_.seed, static_cast<uint64_t>(epoch)));
  backend_.fill(loss_sums_.data(), loss_sums_.size(), 0.0f);
  BatchSpec spec = base_spec(train_);
  spec.batch = batch;
  spec.mode = LabelMode::kPositiveNegative;
  spec.seed = config_.seed;
  spec.epoch = static_cast<uint64_t>(epoch);
  const int steps = steps_per_epoch();
  for (int step = 0; step < steps; ++step) {
    spec.indices = epoch_order_.data() + static_cast<size_t>(step) * batch;
    backend_.prepare_batch(spec, input_.data(), nullptr);
    backend_.rms_norm(input_.data(), rows, network_.in_width(0), xn_[0].data(), network_.in_width(0));
    for (int l = 0; l < layers; ++l) {
      const int in = network_.in_width(l), out = network_.out_width(l);
      backend_.gemm(linear_forward_desc(rows, in, out), network_.weight(l), xn_[l].data(),
                    h_[l].data(), Epilogue::kBiasRelu, network_.bias(l));
      FfLossSpec loss;
      loss.pairs = batch;
      loss.width = out;
      loss.theta = layer_threshold(config_, out);
      loss.goodness = config_.goodness;
      loss.loss = config_.loss;
      const bool has_next = l + 1 < layers;
      backend_.ff_loss_grad(loss, h_[l].data(), dz_[l].data(), has_next ? xn_[l + 1].data() : nullptr,
                            out, pair_loss_.data());
      backend_.gemm(weight_grad_desc(rows, in, out), xn_[l].data(), dz_[l].data(),
                    network_.weight_grad(l));
      backend_.column_sum(dz_[l].data(), rows, out, network_.bias_grad(l), 0.0f);
      backend_.sum_into(pair_loss_.data(), batch, loss_sums_.data() + l);
    }
    optimizer_.step(network_.params(), network_.grads());
  }
  const std::vector<float> sums = loss_sums_.download();
  std::vector<double> mean_loss(sums.begin(), sums.end());
  for (double& loss : mean_loss) loss /= static_cast<double>(steps) * batch;
  return mean_loss;
}

}  // namespace ff
