// The orchestration of `ffcuda train`.
#include "ff/run.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "ff/backend.hpp"
#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "ff/fault.hpp"
#include "ff/readout.hpp"
#include "ff/run_log.hpp"
#include "ff/train_checkpoint.hpp"
#include "ff/trainer.hpp"
#include "ff/version.hpp"

namespace ff {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Where the run ran besides its device: the GPUs it was shown (a study's --gpus sets them per
// cell), its CPU threads, and the machine (a study's shards may run on several). Not figures:
// the study's results.csv never reads it.
nlohmann::json run_environment() {
  auto variable = [](const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? nlohmann::json(value) : nlohmann::json(nullptr);
  };
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return {{"cuda_visible_devices", variable("CUDA_VISIBLE_DEVICES")},
          {"omp_num_threads", variable("OMP_NUM_THREADS")},
          {"host", host}};
}

std::string default_out_dir(const TrainConfig& c) {
  const std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  return "runs/" + c.dataset + "-" + task_name(c.task) + "-" + enum_name(c.algo) + "-" + stamp;
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

// A diverged run (a NaN or infinite loss) stops with an error instead of training on garbage for
// the remaining epochs; it is checked before anything of the epoch is saved, so the last checkpoint
// still holds finite weights. `saved_path` holds epoch `saved_epoch` ("": no checkpoint). The
// classifier trained alongside (`tracked_loss`, NaN-free 0 without one) is checked too: with hard
// negatives its logits choose the negatives.
void require_finite_losses(const std::vector<double>& losses, double tracked_loss, int epoch,
                           const TrainConfig& config, const std::string& saved_path,
                           int saved_epoch) {
  auto diverged = [&](const std::string& which, double value, const char* option, float rate) {
    char lr[32];
    std::snprintf(lr, sizeof lr, "%g", static_cast<double>(rate));
    const std::string kept = !saved_path.empty()
                                 ? saved_path + " holds epoch " + std::to_string(saved_epoch) +
                                       " (finite weights; --resume it with a lower " + option + ")"
                                 : "no checkpoint was written";
    throw Error("epoch " + std::to_string(epoch + 1) + ": " + which + " is " +
                (std::isnan(value) ? "NaN" : "infinite") + ": training diverged; lower " + option +
                " (now " + lr + ") and rerun; " + kept + "; metrics.jsonl has the epochs before");
  };
  for (size_t i = 0; i < losses.size(); ++i) {
    if (!std::isfinite(losses[i])) {
      diverged("loss " + std::to_string(i + 1) + " of " + std::to_string(losses.size()), losses[i],
               "--lr", config.lr);
    }
  }
  if (!std::isfinite(tracked_loss)) {
    diverged("the loss of the classifier trained alongside", tracked_loss, "--track-lr",
             config.track_lr);
  }
}

// " <what> 97.12%"
std::string format_percent(const char* what, double fraction) {
  char text[96];
  std::snprintf(text, sizeof text, "%s %.2f%%", what, fraction * 100);
  return text;
}

// --peer-norm: each layer's peer loss mean_j (r_j - mean_k r_k)^2 (without lambda) at the running
// means the epoch ended with.
std::vector<double> peer_losses(Model& model) {
  const std::vector<float> means = model.all_peer_means().download();
  std::vector<double> losses;
  size_t start = 0;
  for (int l = 0; l < model.network().num_layers(); ++l) {
    const size_t width = static_cast<size_t>(model.network().out_width(l));
    double mean = 0.0, squares = 0.0;
    for (size_t j = 0; j < width; ++j) mean += means[start + j];
    mean /= static_cast<double>(width);
    for (size_t j = 0; j < width; ++j)
      squares += (means[start + j] - mean) * (means[start + j] - mean);
    losses.push_back(squares / static_cast<double>(width));
    start += width;
  }
  return losses;
}

// A line every ~10 s inside an epoch that takes longer (a 4x2000 epoch on two CPU cores takes
// minutes): how far the epoch is, its speed, and when it ends. Short epochs print nothing.
class InEpochProgress {
 public:
  InEpochProgress(int epoch, int epochs, int batch)
      : epoch_(epoch), epochs_(epochs), batch_(batch), start_(Clock::now()), last_(start_) {}

  void step(int done, int total) {
    if (done == total) return;
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_).count() < kIntervalSeconds) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    std::printf("  epoch %d/%d: step %d/%d (%.0f%%)  %.0f samples/s  epoch ends in %s\n",
                epoch_ + 1, epochs_, done, total, 100.0 * done / total,
                done * static_cast<double>(batch_) / elapsed,
                format_duration(elapsed / done * (total - done)).c_str());
    std::fflush(stdout);
  }

 private:
  static constexpr double kIntervalSeconds = 10.0;
  const int epoch_, epochs_, batch_;
  const Clock::time_point start_;
  Clock::time_point last_;
};

}  // namespace

TrainConfig evaluation_config(const Checkpoint& checkpoint, const std::string& path,
                              const std::string& data_dir, const std::string& device) {
  TrainConfig config = checkpoint_config(checkpoint, path);
  if (!data_dir.empty()) config.data_dir = data_dir;
  if (config.data_dir.empty()) config.data_dir = "data/" + config.dataset;
  config.device = parse_enum<DeviceChoice>(device);
  config.graphs = GraphsMode::kAuto;  // nothing is trained
  return config;
}

Dataset load_run_dataset(const TrainConfig& config) {
  Dataset dataset = load_dataset(config.dataset, config.data_dir);
  select_classes(dataset, parse_classes(config.classes, dataset.num_classes));
  limit_images(dataset.train, static_cast<size_t>(config.train_limit), dataset.pixels());
  limit_images(dataset.test, static_cast<size_t>(config.test_limit), dataset.pixels());
  return dataset;
}

nlohmann::json evaluate_trained(Backend& backend, Trainer& trainer, const Dataset& dataset,
                                const TrainConfig& config) {
  nlohmann::json result;
  Evaluator& evaluator = trainer.evaluator();
  const bool has_head = trainer.model().has_head();
  if (has_head) {
    std::printf("evaluating: the bp-ce head on the %s labels...\n", task_name(config.task).c_str());
    std::fflush(stdout);
    result["head_acc"] = evaluator.evaluate_head(trainer.test_split(), config.test_seed);
    result["task_acc"] = result["head_acc"];
  } else if (trainer.num_labels() >= 2) {
    std::printf("evaluating: slow classification over %d labels...\n", trainer.num_labels());
    std::fflush(stdout);
    const SlowEvalResult slow = evaluator.evaluate_slow(trainer.test_split(), config.test_seed);
    result["task_acc"] = slow.accuracy;
    result["per_layer_acc"] = slow.per_layer;
    if (config.task == Task::kSupervised) result["slow_acc"] = slow.accuracy;
  }
  // The fast classifier reads out the class: for supervised FF and for unsupervised FF (where it is
  // the study's "linear classifier"); pretext tasks are read out by the probe instead.
  const bool class_task = config.task == Task::kSupervised || config.task == Task::kUnsupervised;
  if (class_task && config.fast_epochs > 0 && !has_head) {
    ReadoutConfig fast{
        evaluator.score_layers(), config.fast_epochs, config.fast_lr, config.batch, config.seed,
        "fast classifier"};
    const LinearClassifierResult r = linear_readout(backend, trainer, dataset, fast);
    result["fast_acc"] = r.test_accuracy;
    result["fast_loss"] = r.epoch_loss;
  }
  if (config.probe) {
    const int layers = trainer.model().network().num_layers();
    const bool each = config.probe_layers == kEachLayer;
    if (each) {
      // Transfer from single layers: one probe per hidden layer, then one over all of them.
      for (int l = 0; l < layers; ++l) {
        ReadoutConfig single{
            {l},          config.probe_epochs, config.probe_lr,
            config.batch, config.seed,         "probe (layer " + std::to_string(l + 1) + ")"};
        result["probe_acc_per_layer"].push_back(
            linear_readout(backend, trainer, dataset, single).test_accuracy);
      }
    }
    ReadoutConfig probe{parse_score_layers(each ? "all" : config.probe_layers, layers),
                        config.probe_epochs,
                        config.probe_lr,
                        config.batch,
                        config.seed,
                        "probe"};
    const LinearClassifierResult r = linear_readout(backend, trainer, dataset, probe);
    result["probe_acc"] = r.test_accuracy;
    result["probe_loss"] = r.epoch_loss;
  }
  return result;
}

void print_result_table(const nlohmann::json& result, const TrainConfig& config) {
  auto row = [](const std::string& name, double accuracy) {
    std::printf("%-44s %7.2f%%\n", name.c_str(), accuracy * 100);
  };
  std::printf("\n%-44s %8s\n", "result (test set)", "accuracy");
  if (result.contains("head_acc")) {
    row("bp-ce head, " + task_name(config.task) + " labels", result["head_acc"]);
  } else if (result.contains("task_acc")) {
    row("slow (goodness), " + task_name(config.task) + " labels", result["task_acc"]);
    const auto& per_layer = result["per_layer_acc"];
    for (size_t l = 0; l < per_layer.size(); ++l) {
      row("  layer " + std::to_string(l + 1) + " alone", per_layer[l]);
    }
  }
  if (result.contains("fast_acc")) row("fast (linear classifier), classes", result["fast_acc"]);
  if (result.contains("track_acc")) {
    row("linear classifier trained alongside, classes", result["track_acc"]);
  }
  if (result.contains("probe_acc_per_layer")) {
    const auto& per_layer = result["probe_acc_per_layer"];
    for (size_t l = 0; l < per_layer.size(); ++l) {
      row("transfer (linear probe, layer " + std::to_string(l + 1) + "), classes", per_layer[l]);
    }
  }
  if (result.contains("probe_acc")) {
    const std::string layers = config.probe_layers == kEachLayer ? "all" : config.probe_layers;
    row("transfer (linear probe, " + layers + "), classes", result["probe_acc"]);
  }
}

nlohmann::json run_probe(const ProbeRequest& request) {
  const auto run_start = Clock::now();
  const Checkpoint checkpoint = load_checkpoint(request.checkpoint_path);
  TrainConfig config =
      evaluation_config(checkpoint, request.checkpoint_path, request.data_dir, request.device);
  config.probe = true;
  config.probe_epochs = request.probe_epochs;
  config.probe_lr = request.probe_lr;
  config.probe_layers = request.probe_layers;
  config.fast_epochs = 0;
  config.out_dir = request.out_dir.empty() ? default_out_dir(config) + "-probe" : request.out_dir;
  // The probe's options against the saved network, before any data.
  validate_config(config, ConfigUse::kEvaluate);
  std::unique_ptr<Backend> backend = make_backend(enum_name(config.device));
  Dataset dataset = load_run_dataset(config);
  Trainer trainer(*backend, config, dataset);
  const int epoch = restore_training_checkpoint(checkpoint, request.checkpoint_path,
                                                trainer.model(), config, false);
  std::printf("probing %s (%s, %s, %d epochs of pretraining) on %s\n",
              request.checkpoint_path.c_str(), config.dataset.c_str(),
              task_name(config.task).c_str(), epoch, backend->name().c_str());
  nlohmann::json result = evaluate_trained(*backend, trainer, dataset, config);
  result["schema"] = kSchemaVersion;
  result["ffcuda"] = version_line();
  result["device"] = backend->name();
  result["environment"] = run_environment();
  result["checkpoint"] = request.checkpoint_path;
  result["pretrain_epochs"] = epoch;
  result["elapsed_s"] = seconds_since(run_start);
  result["config"] = config_to_json(config);
  std::filesystem::create_directories(config.out_dir);
  write_file_atomically(config.out_dir + "/result.json", result.dump(2) + "\n");
  print_result_table(result, config);
  std::printf("wrote %s/result.json\n", config.out_dir.c_str());
  return result;
}

nlohmann::json run_training(TrainConfig config) {
  const auto run_start = Clock::now();
  // Everything that can be refused is refused before any slow work: the options, then the
  // checkpoint to resume (its config must match), then the backend.
  validate_config(config);
  if (config.data_dir.empty()) config.data_dir = "data/" + config.dataset;
  if (config.out_dir.empty()) config.out_dir = default_out_dir(config);
  std::optional<Checkpoint> resume;
  if (!config.resume_path.empty()) {
    resume = load_checkpoint(config.resume_path);
    require_matching_config(*resume, config.resume_path, config);
  }
  std::unique_ptr<Backend> backend = make_backend(enum_name(config.device));
  backend->set_gemm_precision(config.precision);
  // --device auto may have found no GPU: --graphs on is refused now, before the data.
  resolve_graphs(config.graphs, backend->kind() == DeviceKind::kCuda);

  Dataset dataset = load_run_dataset(config);
  // What depends on the data (a batch larger than the training set, ...) and the checkpoint's
  // tensors are checked here, before anything is printed or written.
  Trainer trainer(*backend, config, dataset);
  StepRunner& steps = trainer.steps();
  int first_epoch = 0;
  if (resume) {
    first_epoch =
        restore_training_checkpoint(*resume, config.resume_path, trainer.model(), config, true);
  }
  // The folders last of the checks, before the first line: one that cannot be made (a read-only
  // place) is then the run's only output.
  std::filesystem::create_directories(config.out_dir);
  if (!config.save_path.empty()) {
    const std::filesystem::path folder = std::filesystem::path(config.save_path).parent_path();
    if (!folder.empty()) std::filesystem::create_directories(folder);
  }
  std::printf("dataset %s: %zu train, %zu test images, %dx%dx%d\n", dataset.name.c_str(),
              dataset.train.count, dataset.test.count, dataset.channels, dataset.height,
              dataset.width);
  if (resume) {
    std::printf("resumed from %s at epoch %d\n", config.resume_path.c_str(), first_epoch + 1);
  }
  const std::string metrics_path = config.out_dir + "/metrics.jsonl";
  if (first_epoch > 0) keep_metrics_through_epoch(metrics_path, first_epoch);
  JsonLines metrics(metrics_path, first_epoch > 0);

  std::printf("device %s; network %s, %zu parameters; task %s (%d labels); %d steps/epoch\n",
              backend->name().c_str(), config.layers_spec.c_str(),
              trainer.model().network().parameter_count(), task_name(config.task).c_str(),
              trainer.num_labels(), steps.steps_per_epoch());
  std::fflush(stdout);

  double train_seconds = 0.0;
  auto last_save = Clock::now();
  // The newest checkpoint of this run on disk and its epoch (a resumed run: the one it started
  // from).
  std::string saved_path = config.resume_path;
  int saved_epoch = first_epoch;
  std::optional<double> last_track_acc;  // of the last epoch trained (the final figure)
  for (int epoch = first_epoch; epoch < config.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    InEpochProgress progress(epoch, config.epochs, config.batch);
    const std::vector<double> loss =
        steps.train_epoch(epoch, [&progress](int done, int total) { progress.step(done, total); });
    backend->synchronize();
    require_finite_losses(loss, steps.tracked_loss(), epoch, config, saved_path, saved_epoch);
    const double epoch_seconds = seconds_since(epoch_start);
    train_seconds += epoch_seconds;
    const double samples_per_s = steps.steps_per_epoch() * config.batch / epoch_seconds;
    nlohmann::json record{{"schema", kSchemaVersion},
                          {"epoch", epoch + 1},
                          {"loss", loss},
                          {"train_samples_per_s", samples_per_s},
                          {"epoch_s", epoch_seconds}};
    const bool evaluate_now = config.eval_every > 0 && (epoch + 1) % config.eval_every == 0 &&
                              epoch + 1 < config.epochs && trainer.evaluator().classifies_slowly();
    std::string evaluation;
    if (evaluate_now) {
      const SlowEvalResult slow =
          trainer.evaluator().evaluate_slow(trainer.test_split(), config.test_seed);
      record[config.task == Task::kSupervised ? "slow_acc" : "task_acc"] = slow.accuracy;
      record["per_layer_acc"] = slow.per_layer;
      evaluation += format_percent("  test", slow.accuracy);
    }
    if (trainer.model().has_tracker()) {
      record["track_loss"] = steps.tracked_loss();
      last_track_acc = trainer.evaluator().evaluate_tracker(trainer.test_split());
      record["track_acc"] = *last_track_acc;
      evaluation += format_percent("  tracked classifier", *last_track_acc);
    }
    if (trainer.model().all_peer_means().size()) {
      record["peer_loss"] = peer_losses(trainer.model());
    }
    record["elapsed_s"] = seconds_since(run_start);
    metrics.append(record);
    fault_point("after-metrics");
    const bool last_epoch = epoch + 1 == config.epochs;
    const bool periodic = config.save_every > 0 && (epoch + 1) % config.save_every == 0 &&
                          seconds_since(last_save) >= config.save_interval_s;
    if (!config.save_path.empty() && (last_epoch || periodic)) {
      metrics
          .sync();  // the lines up to this epoch durable before the checkpoint that counts on them
      save_training_checkpoint(config.save_path, trainer.model(), config, epoch + 1);
      last_save = Clock::now();
      saved_path = config.save_path;
      saved_epoch = epoch + 1;
    }
    const double eta = train_seconds / (epoch + 1 - first_epoch) * (config.epochs - epoch - 1);
    std::printf("epoch %d/%d  loss %s  %.0f samples/s  ETA %s%s\n", epoch + 1, config.epochs,
                format_losses(loss).c_str(), samples_per_s, format_duration(eta).c_str(),
                evaluation.c_str());
    std::fflush(stdout);
  }

  fault_point("evaluation");
  nlohmann::json result = evaluate_trained(*backend, trainer, dataset, config);
  if (trainer.model().has_tracker()) {
    // The last epoch's figure; a run resumed with nothing left to train evaluates it now.
    result["track_acc"] = last_track_acc
                              ? *last_track_acc
                              : trainer.evaluator().evaluate_tracker(trainer.test_split());
  }
  result["schema"] = kSchemaVersion;
  result["ffcuda"] = version_line();
  result["device"] = backend->name();
  result["environment"] = run_environment();
  result["train_seconds"] = train_seconds;
  result["elapsed_s"] = seconds_since(run_start);
  result["parameters"] = trainer.model().network().parameter_count();
  result["config"] = config_to_json(config);
  nlohmann::json final_record = result;
  final_record.erase("config");
  final_record["final"] = true;
  metrics.append(final_record);
  write_file_atomically(config.out_dir + "/result.json", result.dump(2) + "\n");

  print_result_table(result, config);
  std::printf("wrote %s/result.json and metrics.jsonl (%s)\n", config.out_dir.c_str(),
              format_duration(seconds_since(run_start)).c_str());
  return result;
}

}  // namespace ff
