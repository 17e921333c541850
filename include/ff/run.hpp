// `ffcuda train`: a whole run from a config: data, pretraining with progress and metrics.jsonl,
// final evaluation, result.json.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

#include "ff/checkpoint.hpp"
#include "ff/config.hpp"
#include "ff/dataset.hpp"

namespace ff {

class Backend;
class Trainer;

// The config of a saved network for evaluating it (probe, embed): the checkpoint's, with the
// data folder ("" keeps the saved one) and device given, and no graph capture.
TrainConfig evaluation_config(const Checkpoint& checkpoint, const std::string& path,
                              const std::string& data_dir, const std::string& device);

// The dataset of a run: loaded from config.data_dir, restricted to --classes, then to the limits.
Dataset load_run_dataset(const TrainConfig& config);

// After pretraining: slow classification of the task's labels (task_acc, per_layer_acc, and
// slow_acc for the supervised task), the fast classifier (supervised task), the probe (--probe).
nlohmann::json evaluate_trained(Backend& backend, Trainer& trainer, const Dataset& dataset,
                                const TrainConfig& config);
void print_result_table(const nlohmann::json& result, const TrainConfig& config);

// `ffcuda probe --checkpoint PATH`: the linear probe (and slow evaluation) of a saved network.
struct ProbeRequest {
  std::string checkpoint_path, data_dir, device = "auto", out_dir;
  int probe_epochs = 100;
  float probe_lr = 1e-3f;
  std::string probe_layers = "last3";
};
nlohmann::json run_probe(const ProbeRequest& request);

// Runs `config` and returns what it writes to result.json. Progress goes to stdout.
nlohmann::json run_training(TrainConfig config);

}  // namespace ff
