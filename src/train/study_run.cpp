// Running a study: everything checked, study.json created or checked, then this process's share
// of the cells (study_scheduler), then the report. Also the entry of a cell's child process.
#include <fcntl.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "ff/backend.hpp"
#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "ff/study.hpp"
#include "ff/version.hpp"
#include "study_cell.hpp"
#include "study_grid.hpp"
#include "study_record.hpp"
#include "study_scheduler.hpp"
#include "study_share.hpp"

namespace ff {
namespace {

namespace fs = std::filesystem;
using study::Cell;
using study::DataCheck;

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

std::map<std::string, DataCheck> check_datasets(const std::vector<Cell>& cells) {
  std::map<std::string, DataCheck> checks;
  for (const Cell& cell : cells) {
    if (checks.count(cell.dataset)) continue;
    DataCheck& check = checks[cell.dataset];
    check.no_data = missing_dataset_files(cell.dataset, cell.config.data_dir);
    if (!check.no_data.empty()) continue;
    try {
      load_dataset(cell.dataset, cell.config.data_dir);
    } catch (const Error& e) {
      check.failed = e.what();
    }
  }
  return checks;
}

// Where the cells run, for study.json and the first line. Child processes choose their device
// themselves: this process does not touch a GPU (a CUDA context here would take memory on one).
std::string device_text(const TrainConfig& base, const study::Slots& slots,
                        const StudyRequest& request) {
  if (!slots.children) return make_backend(enum_name(base.device))->name();
  const std::string device = enum_name(base.device);
  if (!slots.devices.empty()) return device + ", one cell per GPU (" + request.gpus + ")";
  return device + ", " + std::to_string(slots.count) + " cells at a time (" +
         std::to_string(slots.threads_per_child) + " thread" +
         (slots.threads_per_child == 1 ? "" : "s") + " each)";
}

nlohmann::json study_record(const StudyRequest& request, const study::Grid& grid,
                            const TrainConfig& base, const std::vector<Cell>& cells,
                            const std::string& device) {
  nlohmann::json record = {{"schema", kSchemaVersion},
                           {"settings", study::study_settings(request, grid, base)},
                           {"presets",
                            {{"paper", config_to_json(study::preset_config("paper"))},
                             {"quick", config_to_json(study::preset_config("quick"))},
                             {"long", config_to_json(study::preset_config("long"))}}},
                           {"data_root", request.data_root},
                           {"ffcuda", version_line()},
                           {"commit", commit()},
                           {"device", device},
                           {"created", utc_now()}};
  // The whole grid, whichever share created the file.
  for (const Cell& cell : cells) {
    record["cells"].push_back({{"name", cell.name},
                               {"dataset", cell.dataset},
                               {"task", cell.task},
                               {"algo", cell.algo},
                               {"sweep", cell.sweep_value},
                               {"seed", cell.seed}});
  }
  return record;
}

}  // namespace

int run_study(const StudyRequest& request) {
  require(!request.out_dir.empty(), "ffcuda study needs --out DIR (the study's folder)");
  require(request.save_interval_s >= 0.0, "--save-interval must be >= 0 seconds");
  // Everything is checked before the first cell trains: the grid, every cell's config, how the
  // cells are shared out, the device, where the study writes, and which datasets are there.
  const study::Grid grid = study::make_grid(request);
  const TrainConfig base = study::base_config(request);
  const study::Shard shard = study::parse_shard(request.shard);
  const study::Slots slots = study::plan_slots(request, enum_name(base.device));
  std::error_code error;
  require(!fs::exists(request.out_dir, error) || fs::is_directory(request.out_dir, error),
          "--out " + request.out_dir + " is a file, not a folder; name a folder (it is created)");
  const std::vector<Cell> cells = study::expand_grid(grid, base, request);
  std::vector<Cell> share;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (shard.holds(i)) share.push_back(cells[i]);
  }
  const std::string device = device_text(base, slots, request);
  const std::map<std::string, DataCheck> data = check_datasets(share);

  fs::create_directories(fs::path(request.out_dir) / "cells");
  study::create_or_check_study_file(request.out_dir,
                                    study_record(request, grid, base, cells, device));
  std::printf(
      "study %s: %zu cells (datasets %zu x tasks %zu x algorithms %zu%s, seeds %d) on %s\n",
      request.out_dir.c_str(), cells.size(), grid.datasets.size(), grid.tasks.size(),
      grid.algos.size(),
      grid.sweep_values.empty()
          ? ""
          : (" x " + grid.sweep_key + " " + std::to_string(grid.sweep_values.size())).c_str(),
      grid.seeds, device.c_str());
  if (!shard.whole()) {
    std::string positions;  // 1-based, as the shard's own number
    for (size_t k = static_cast<size_t>(shard.index); k <= cells.size(); k += shard.count) {
      if (positions.size() > 20) {
        positions += ", ...";
        break;
      }
      positions += (positions.empty() ? "" : ", ") + std::to_string(k);
    }
    std::printf("study: shard %s: %zu of the %zu cells (cells %s of the grid)\n",
                shard.text().c_str(), share.size(), cells.size(),
                positions.empty() ? "none" : positions.c_str());
  }
  for (const auto& [name, check] : data) {
    if (!check.no_data.empty())
      std::printf("study: %s: no data: %s\n", name.c_str(), check.no_data.c_str());
  }
  std::fflush(stdout);

  const int failed = study::run_cells(request, share, data, slots);
  write_study_report(request.out_dir);  // shards sharing the folder: one at a time (its lock)
  return failed;
}

int run_study_cell(const std::string& request_json) {
  const nlohmann::json order = nlohmann::json::parse(request_json, nullptr, false);
  require(order.is_object() && order.contains("cell") && order.contains("request"),
          "--run-cell is how a study starts the process of one of its cells, not an option to "
          "give by hand");
  // The cell's lock, inherited from the study's process: held until this process ends, but not
  // passed on to anything this process starts.
  const int lock_fd = order.value("lock_fd", -1);
  if (lock_fd >= 0) ::fcntl(lock_fd, F_SETFD, FD_CLOEXEC);
  const StudyRequest request = study::request_from_json(order.at("request"));
  const std::string name = order.at("cell").get<std::string>();
  const study::Grid grid = study::make_grid(request);
  const std::vector<Cell> cells = study::expand_grid(grid, study::base_config(request), request);
  for (const Cell& cell : cells) {
    if (cell.name != name) continue;
    const study::CellOutcome outcome = study::train_cell_here(cell, request.keep_checkpoints);
    if (outcome.end != study::CellEnd::kDone) {
      std::printf("study: %s: failed: %s\n", name.c_str(), outcome.error.c_str());
      return 1;
    }
    return 0;
  }
  throw Error("--run-cell: the study has no cell " + name);
}

}  // namespace ff
