#include "study_grid.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "ff/error.hpp"
#include "study_files.hpp"

namespace ff::study {
namespace {

const std::vector<std::string> kDatasets = {"mnist", "fashion-mnist", "svhn", "cifar10"};
const std::vector<std::string> kTasks = {"supervised", "rotation", "flip-h",
                                         "flip-hv",    "jigsaw",   "unsupervised"};
const std::vector<std::string> kAlgos = {"ff", "bp-ce", "bp-goodness-last", "bp-goodness-all"};

// Keys a cell sets itself: the grid's axes and where its data is.
const std::vector<std::string> kCellKeys = {"dataset", "task", "algo", "data_dir"};

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join(const std::vector<std::string>& list) {
  std::string text;
  for (const std::string& item : list) text += (text.empty() ? "" : ", ") + item;
  return text;
}

std::vector<std::string> checked_list(const std::vector<std::string>& given,
                                      const std::vector<std::string>& valid, const char* option,
                                      const std::vector<std::string>& preset_default) {
  if (given.empty()) return preset_default;
  for (const std::string& item : given) {
    require(contains(valid, item),
            std::string("unknown ") + option + " entry '" + item + "': use " + join(valid));
  }
  std::vector<std::string> unique;
  for (const std::string& item : given) {
    if (!contains(unique, item)) unique.push_back(item);
  }
  return unique;
}

// "--probe-epochs", "probe-epochs" and "probe_epochs" all name config key "probe_epochs".
std::string config_key(std::string option) {
  option.erase(0, option.find_first_not_of('-'));
  std::replace(option.begin(), option.end(), '-', '_');
  return option;
}

// Goodness-trained backprop is studied on the supervised and rotation tasks only (Table 3).
bool in_default_grid(const std::string& task, const std::string& algo) {
  const bool goodness = algo == "bp-goodness-last" || algo == "bp-goodness-all";
  return !goodness || task == "supervised" || task == "rotation";
}

// A label for a sweep value in a folder name: "lr1e-3", "layers4x500", "layers784_500".
std::string sweep_label(const std::string& key, const std::string& value) {
  std::string label = key;
  std::replace(label.begin(), label.end(), '_', '-');
  for (char c : value)
    label += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  return label;
}

}  // namespace

TrainConfig preset_config(const std::string& preset) {
  TrainConfig c;  // the defaults are the published setup: 4x2000, batch 100, Adam, 60 epochs
  if (preset == "paper") {
    c.probe_epochs = 100;
    c.fast_epochs = 100;  // the study's linear classifier: 100 epochs, as its probes
    return c;
  }
  if (preset == "long") {
    // The study's Appendix E: 200 epochs, test accuracy followed epoch by epoch through a linear
    // classifier trained alongside pretraining.
    c.epochs = 200;
    c.track_linear = true;
    c.probe_epochs = 100;
    c.fast_epochs = 100;
    return c;
  }
  if (preset == "quick") {
    // Sized so that the MNIST + Fashion-MNIST grid (30 cells) trains in well under 30 minutes on
    // two CPU cores; the measured times are in docs/study.md.
    c.layers_spec = "4x500";
    c.epochs = 5;
    c.probe_epochs = 20;
    c.fast_epochs = 20;
    return c;
  }
  throw Error("unknown --preset '" + preset + "': use paper, quick or long");
}

void set_config_field(nlohmann::json& config, const std::string& key, const std::string& text,
                      const std::string& what) {
  const auto found = config.find(key);
  require(found != config.end(), what + ": '" + key + "' is not a training option");
  const std::string bad = what + ": '" + text + "' is not a valid value for " + key;
  if (found->is_boolean()) {
    const bool yes = text == "true" || text == "1" || text == "on" || text == "yes";
    const bool no = text == "false" || text == "0" || text == "off" || text == "no";
    require(yes || no, bad + " (use true or false)");
    *found = yes;
  } else if (found->is_number_integer() || found->is_number_unsigned()) {
    char* end = nullptr;
    errno = 0;
    const long long value = std::strtoll(text.c_str(), &end, 10);
    require(!text.empty() && *end == '\0' && errno == 0, bad + " (an integer)");
    if (found->is_number_unsigned()) {
      require(value >= 0, bad + " (an integer >= 0)");
      *found = static_cast<uint64_t>(value);
    } else {
      *found = value;
    }
  } else if (found->is_number()) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    require(!text.empty() && *end == '\0', bad + " (a number)");
    *found = value;
  } else {
    *found = text;
  }
}

TrainConfig base_config(const StudyRequest& request) {
  nlohmann::json config = config_to_json(preset_config(request.preset));
  for (const auto& [option, value] : request.overrides) {
    const std::string key = config_key(option);
    require(!contains(kCellKeys, key),
            "--" + option +
                " is set by each cell of a study; use --datasets, --tasks, --algos "
                "or --data-root");
    set_config_field(config, key, value, "--" + option);
  }
  return config_from_json(config);
}

Grid make_grid(const StudyRequest& request) {
  Grid grid;
  preset_config(request.preset);  // an unknown preset is refused first
  // The long runs of Appendix E: MNIST, supervised and rotation, FF beside bp-ce.
  const bool long_runs = request.preset == "long";
  grid.datasets = checked_list(request.datasets, kDatasets, "--datasets",
                               long_runs ? std::vector<std::string>{"mnist"} : kDatasets);
  grid.tasks =
      checked_list(request.tasks, kTasks, "--tasks",
                   long_runs ? std::vector<std::string>{"supervised", "rotation"} : kTasks);
  grid.algos = checked_list(request.algos, kAlgos, "--algos",
                            long_runs ? std::vector<std::string>{"ff", "bp-ce"} : kAlgos);
  grid.study_algos = request.algos.empty() && !long_runs;
  require(request.seeds >= 1 && request.seeds <= 1000,
          "--seeds must be between 1 and 1000; got " + std::to_string(request.seeds));
  grid.seeds = request.seeds;
  if (!request.sweep.empty()) {
    const size_t equals = request.sweep.find('=');
    require(equals != std::string::npos && equals > 0 && equals + 1 < request.sweep.size(),
            "--sweep '" + request.sweep + "': write OPTION=V1,V2,... (e.g. lr=1e-3,1e-4)");
    grid.sweep_key = config_key(request.sweep.substr(0, equals));
    const nlohmann::json keys = config_to_json(TrainConfig{});
    require(keys.contains(grid.sweep_key) && !contains(kCellKeys, grid.sweep_key) &&
                grid.sweep_key != "seed",
            "--sweep: '" + grid.sweep_key +
                "' is not an option a study can sweep (use --seeds for seeds; --datasets, "
                "--tasks, --algos for the grid's axes)");
    std::string values = request.sweep.substr(equals + 1);
    // A layer list has commas of its own: "layers=784,500;784,1000" separates values with ';'.
    const char separator = values.find(';') != std::string::npos ? ';' : ',';
    size_t start = 0;
    while (start <= values.size()) {
      const size_t end = std::min(values.find(separator, start), values.size());
      const std::string value = values.substr(start, end - start);
      require(!value.empty(), "--sweep '" + request.sweep + "' has an empty value");
      if (!contains(grid.sweep_values, value)) grid.sweep_values.push_back(value);
      start = end + 1;
    }
  }
  return grid;
}

std::vector<Cell> expand_grid(const Grid& grid, const TrainConfig& base,
                              const StudyRequest& request) {
  const std::vector<std::string> no_sweep = {""};
  const std::vector<std::string>& sweep_values =
      grid.sweep_values.empty() ? no_sweep : grid.sweep_values;
  const nlohmann::json base_json = config_to_json(base);
  std::vector<Cell> cells;
  for (const std::string& dataset : grid.datasets) {
    for (const std::string& task : grid.tasks) {
      for (const std::string& algo : grid.algos) {
        if (task == "unsupervised" && algo != "ff") continue;  // backprop needs labels
        if (grid.study_algos && !in_default_grid(task, algo)) continue;
        for (const std::string& sweep_value : sweep_values) {
          for (int s = 0; s < grid.seeds; ++s) {
            Cell cell{"", dataset, task, algo, sweep_value, base.seed + static_cast<uint64_t>(s),
                      {}};
            nlohmann::json json = base_json;
            if (!sweep_value.empty())
              set_config_field(json, grid.sweep_key, sweep_value, "--sweep");
            json["dataset"] = dataset;
            json["task"] = task;
            json["algo"] = algo;
            json["seed"] = cell.seed;
            cell.name =
                dataset + "-" + task + "-" + algo +
                (sweep_value.empty() ? "" : "-" + sweep_label(grid.sweep_key, sweep_value)) + "-s" +
                std::to_string(cell.seed);
            TrainConfig& c = cell.config;
            c = config_from_json(json);
            c.data_dir = (std::filesystem::path(request.data_root) / dataset).string();
            c.out_dir = cell_dir(request.out_dir, cell.name);
            c.save_path = c.out_dir + "/checkpoint.safetensors";
            c.save_every = 1;
            c.save_interval_s = request.save_interval_s;
            // Transfer is read by a probe, except for supervised FF and goodness backprop, whose
            // study figures are the class accuracy itself (slow, fast or head).
            c.probe = task != "supervised" || algo == "bp-ce";
            for (const Cell& other : cells) {
              require(other.name != cell.name, "--sweep values " + other.sweep_value + " and " +
                                                   sweep_value + " give the same cell folder " +
                                                   cell.name + "; use distinct values");
            }
            try {
              validate_config(c);
            } catch (const Error& e) {
              throw Error("study cell " + cell.name + ": " + e.what());
            }
            cells.push_back(std::move(cell));
          }
        }
      }
    }
  }
  require(!cells.empty(),
          "the study's grid is empty (backprop needs a task with labels: add a "
          "task other than unsupervised, or --algos ff)");
  return cells;
}

}  // namespace ff::study

namespace ff {

std::string study_preset_help() {
  return "paper (4x2000, 60 epochs, probe and linear classifier 100 epochs) | quick (4x500, 5 "
         "epochs, probe and linear classifier 20 epochs) | long (MNIST supervised and rotation, "
         "ff and bp-ce, 4x2000, 200 epochs with --track-linear)";
}

}  // namespace ff
