// `ffcuda train`: a whole run from a config: data, pretraining with progress and metrics.jsonl,
// final evaluation, result.json.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "ff/config.hpp"

namespace ff {

class Backend;
class FfTrainer;
struct Dataset;

// After pretraining: slow classification of the task's labels (task_acc, per_layer_acc, and
// slow_acc for the supervised task), the fast classifier (supervised task), the probe (--probe).
nlohmann::json evaluate_trained(Backend& backend, FfTrainer& trainer, const Dataset& dataset,
                                const TrainConfig& config);
void print_result_table(const nlohmann::json& result, const TrainConfig& config);

// Runs `config` and returns what it writes to result.json. Progress goes to stdout.
nlohmann::json run_training(TrainConfig config);

}  // namespace ff
