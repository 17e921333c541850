// The orchestration of `ffcuda train`.
#include "ff/run.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "ff/backend.hpp"
#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "ff/linear_classifier.hpp"
#include "ff/run_log.hpp"
#include "ff/trainer.hpp"

namespace ff {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string default_out_dir(const TrainConfig& c) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + c.dataset + "-" + task_name(c.task) + "-" + c.algo + "-" + stamp;
}

std::string format_losses(const std::vector<double>& losses) {
  std::string text = "[";
  for (size_t i = 0; i < losses.size(); ++i) {
    char value[32];
    std::snprintf(value, sizeof value, "%s%.4f", i ? " " : "", losses[i]);
    text += value;
  }
  return text + "]";
}

LabelledFeatures labelled(const Array<float>& features, const ResidentSplit& split,
                          const ImageSet& host) {
  LabelledFeatures out;
  out.features = features.data();
  out.labels = split.labels_i32.data();
  out.host_labels.assign(host.labels.begin(), host.labels.end());
  out.count = split.count;
  return out;
}

}  // namespace

nlohmann::json run_training(TrainConfig config) {
  const auto run_start = Clock::now();
  require(config.algo == "ff", "--algo '" + config.algo + "' is not available yet; use ff");
  require(config.epochs >= 0, "--epochs must be >= 0");
  if (config.data_dir.empty()) config.data_dir = "data/" + config.dataset;
  if (config.out_dir.empty()) config.out_dir = default_out_dir(config);
  parse_layers(config.layers_spec, 0);  // reject a malformed --layers before any slow work
  std::unique_ptr<Backend> backend = make_backend(config.device);

  Dataset dataset = load_dataset(config.dataset, config.data_dir);
  limit_images(dataset.train, config.train_limit, dataset.pixels());
  limit_images(dataset.test, config.test_limit, dataset.pixels());
  std::printf("dataset %s: %zu train, %zu test images, %dx%dx%d\n", dataset.name.c_str(),
              dataset.train.count, dataset.test.count, dataset.channels, dataset.height,
              dataset.width);

  std::filesystem::create_directories(config.out_dir);
  JsonLines metrics(config.out_dir + "/metrics.jsonl");

  FfTrainer trainer(*backend, config, dataset);
  std::printf("device %s; network %s, %zu parameters; task %s (%d labels); %d steps/epoch\n",
              backend->name().c_str(), config.layers_spec.c_str(),
              trainer.network().parameter_count(), task_name(config.task).c_str(),
              trainer.num_labels(), trainer.steps_per_epoch());
  std::fflush(stdout);

  double train_seconds = 0.0;
  SlowEvalResult slow;
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    const std::vector<double> loss = trainer.train_epoch(epoch);
    backend->synchronize();
    const double epoch_seconds = seconds_since(epoch_start);
    train_seconds += epoch_seconds;
    const double samples_per_s = trainer.steps_per_epoch() * config.batch / epoch_seconds;
    nlohmann::json record{{"epoch", epoch + 1},
                          {"loss", loss},
                          {"train_samples_per_s", samples_per_s},
                          {"epoch_s", epoch_seconds}};
    const bool evaluate_now = config.eval_every > 0 && (epoch + 1) % config.eval_every == 0 &&
                              epoch + 1 < config.epochs;
    std::string evaluation;
    if (evaluate_now) {
      slow = trainer.evaluate_slow(trainer.test_split(), config.test_seed);
      record["slow_acc"] = slow.accuracy;
      record["per_layer_acc"] = slow.per_layer;
      evaluation = "  test " + std::to_string(slow.accuracy * 100).substr(0, 5) + "%";
    }
    record["elapsed_s"] = seconds_since(run_start);
    metrics.append(record);
    const double eta = train_seconds / (epoch + 1) * (config.epochs - epoch - 1);
    std::printf("epoch %d/%d  loss %s  %.0f samples/s  ETA %s%s\n", epoch + 1, config.epochs,
                format_losses(loss).c_str(), samples_per_s, format_duration(eta).c_str(),
                evaluation.c_str());
    std::fflush(stdout);
  }

  std::printf("evaluating: slow classification over %d labels...\n", trainer.num_labels());
  std::fflush(stdout);
  slow = trainer.evaluate_slow(trainer.test_split(), config.test_seed);

  std::printf("evaluating: fast classifier (%d epochs on the scoring layers' features)...\n",
              config.fast_epochs);
  std::fflush(stdout);
  LinearClassifierResult fast;
  {
    const Array<float> train_features =
        trainer.extract_features(trainer.train_split(), trainer.score_layers());
    const Array<float> test_features =
        trainer.extract_features(trainer.test_split(), trainer.score_layers());
    LinearClassifierConfig classifier;
    for (int l : trainer.score_layers()) classifier.width += trainer.network().out_width(l);
    classifier.classes = dataset.num_classes;
    classifier.epochs = config.fast_epochs;
    classifier.batch = config.batch;
    classifier.lr = config.fast_lr;
    classifier.seed = config.seed;
    fast = train_linear_classifier(*backend, classifier,
                                   labelled(train_features, trainer.train_split(), dataset.train),
                                   labelled(test_features, trainer.test_split(), dataset.test));
  }

  nlohmann::json result{{"slow_acc", slow.accuracy},
                        {"task_acc", slow.accuracy},
                        {"per_layer_acc", slow.per_layer},
                        {"fast_acc", fast.test_accuracy},
                        {"fast_loss", fast.epoch_loss},
                        {"device", backend->name()},
                        {"train_seconds", train_seconds},
                        {"elapsed_s", seconds_since(run_start)},
                        {"parameters", trainer.network().parameter_count()},
                        {"config", config_to_json(config)}};
  metrics.append(nlohmann::json{{"final", true},
                                {"slow_acc", slow.accuracy},
                                {"per_layer_acc", slow.per_layer},
                                {"fast_acc", fast.test_accuracy},
                                {"elapsed_s", seconds_since(run_start)}});
  write_file_atomically(config.out_dir + "/result.json", result.dump(2) + "\n");

  std::printf("\n%-34s %8s\n", "result (test set)", "accuracy");
  std::printf("%-34s %7.2f%%\n", ("slow (goodness), " + task_name(config.task)).c_str(),
              slow.accuracy * 100);
  for (size_t l = 0; l < slow.per_layer.size(); ++l) {
    std::printf("  layer %-26zu %7.2f%%\n", l + 1, slow.per_layer[l] * 100);
  }
  std::printf("%-34s %7.2f%%\n", "fast (linear classifier), classes", fast.test_accuracy * 100);
  std::printf("wrote %s/result.json and metrics.jsonl (%s)\n", config.out_dir.c_str(),
              format_duration(seconds_since(run_start)).c_str());
  return result;
}

}  // namespace ff
