// The study's grid: presets, the cells a request names, and each cell's training config.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "ff/config.hpp"
#include "ff/study.hpp"

namespace ff::study {

// One training run of the grid.
struct Cell {
  std::string name;  // <dataset>-<task>-<algo>[-<sweep key><value>]-s<seed>
  std::string dataset, task, algo, sweep_value;  // sweep_value "" without --sweep
  uint64_t seed = 0;
  TrainConfig config;  // complete: data folder, out folder, checkpoint path
};

struct Grid {
  std::vector<std::string> datasets, tasks, algos;
  int seeds = 1;
  std::string sweep_key;                  // a config key ("lr"); "" without --sweep
  std::vector<std::string> sweep_values;  // as typed
  bool study_algos = false;               // algos not given: goodness variants only where studied
};

// The preset's config before overrides (dataset, task, algo are set per cell). Throws ff::Error
// naming the valid presets.
TrainConfig preset_config(const std::string& preset);

// The preset with the request's overrides applied. Throws ff::Error for a value of the wrong type
// or a key that is not an option of training.
TrainConfig base_config(const StudyRequest& request);

// The grid of a request: its lists, or the preset's where empty. Throws ff::Error for an unknown
// dataset, task, algorithm or sweep option.
Grid make_grid(const StudyRequest& request);

// The cells in the order they run: dataset, task, algorithm, sweep value, seed. Cells that cannot
// exist (backprop without labels) are left out. Each cell's config is validated here, so a bad
// override fails before anything trains.
std::vector<Cell> expand_grid(const Grid& grid, const TrainConfig& base,
                              const StudyRequest& request);

// Sets config key `key` (config_to_json's names) of `config` to `text`, read as the type the key
// holds (integer, number, true/false, or a name). Throws ff::Error naming `what` on a bad value.
void set_config_field(nlohmann::json& config, const std::string& key, const std::string& text,
                      const std::string& what);

}  // namespace ff::study
