// `ffcuda train`: a whole run from a config: data, pretraining with progress and metrics.jsonl,
// final evaluation, result.json.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "ff/config.hpp"

namespace ff {

// Runs `config` and returns what it writes to result.json. Progress goes to stdout.
nlohmann::json run_training(TrainConfig config);

}  // namespace ff
