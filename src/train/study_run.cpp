// Running a study: checks, study.json, then each cell in turn (skipped when finished, resumed from
// its checkpoint when interrupted, recorded with its error when it fails).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "ff/backend.hpp"
#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "ff/run.hpp"
#include "ff/run_log.hpp"
#include "ff/study.hpp"
#include "ff/version.hpp"
#include "train/study_files.hpp"
#include "train/study_grid.hpp"

namespace ff {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using study::Cell;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

// What decides the study's results: a rerun into the same folder must ask for the same.
nlohmann::json study_settings(const StudyRequest& request, const study::Grid& grid,
                              const TrainConfig& base) {
  return {{"preset", request.preset},
          {"config", config_to_json(base)},
          {"grid",
           {{"datasets", grid.datasets},
            {"tasks", grid.tasks},
            {"algos", grid.algos},
            {"seeds", grid.seeds},
            {"sweep", {{"option", grid.sweep_key}, {"values", grid.sweep_values}}}}}};
}

// The first difference between two settings objects, as "config.lr: 0.001 here, 0.0001 there".
std::string first_difference(const nlohmann::json& ours, const nlohmann::json& theirs,
                             const std::string& prefix = "") {
  if (ours.is_object() && theirs.is_object()) {
    for (const auto& [key, value] : ours.items()) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (!theirs.contains(key)) return path + " is new";
      const std::string difference = first_difference(value, theirs.at(key), path);
      if (!difference.empty()) return difference;
    }
    for (const auto& [key, value] : theirs.items()) {
      if (!ours.contains(key)) return (prefix.empty() ? key : prefix + "." + key) + " is gone";
    }
    return "";
  }
  if (ours == theirs) return "";
  return prefix + ": " + ours.dump() + " now, " + theirs.dump() + " in study.json";
}

// The settings of a study.json as this version reads them: one written by an earlier version
// lacks the training options added since, which then take the values those versions ran with.
nlohmann::json as_this_version(nlohmann::json settings) {
  if (settings.contains("config")) {
    settings["config"] = config_to_json(config_from_json(settings["config"]));
  }
  return settings;
}

// Creates DIR/study.json exclusively, or checks that the one there asks for the same study.
void create_or_check_study_file(const std::string& dir, const nlohmann::json& study) {
  const std::string path = dir + "/study.json";
  std::error_code error;
  if (!fs::exists(path, error)) {
    // A name of this process's own, complete before link() publishes it; link() fails if
    // study.json appeared meanwhile, and then that one is checked like any other.
    const std::string fresh = path + ".new." + std::to_string(::getpid());
    write_file_atomically(fresh, study.dump(2) + "\n");
    const bool created = ::link(fresh.c_str(), path.c_str()) == 0;
    const int link_error = errno;
    fs::remove(fresh, error);
    if (created) {
      sync_parent_folder(path);
      return;
    }
    require(link_error == EEXIST, "cannot create " + path + " (" + std::strerror(link_error) +
                                      "): the study's folder must be on a file system that "
                                      "supports hard links; use another --out");
  }
  const nlohmann::json existing = study::read_json_file(path);
  const std::string difference = first_difference(
      study.at("settings"), as_this_version(existing.value("settings", nlohmann::json::object())));
  require(difference.empty(), dir + " holds another study (" + difference +
                                  "); rerun with the same options to continue it, or use "
                                  "another --out");
  if (existing.value("ffcuda", "") != study.at("ffcuda")) {
    std::printf("study: note: %s was started by %s; this is %s\n", path.c_str(),
                existing.value("ffcuda", std::string("?")).c_str(),
                study.at("ffcuda").get<std::string>().c_str());
  }
}

// Per dataset: "" when its files are there and read, otherwise why its cells cannot run.
struct DataCheck {
  std::string no_data;  // the files are missing: where to put them
  std::string failed;   // they are there but cannot be read
};

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

// How one cell ended, for the progress line and the count.
enum class CellEnd { kDone, kSkipped, kNoData, kFailed };

class StudyRunner {
 public:
  StudyRunner(const StudyRequest& request, std::vector<Cell> cells)
      : request_(request), cells_(std::move(cells)) {}

  int run(const std::map<std::string, DataCheck>& data) {
    for (size_t i = 0; i < cells_.size(); ++i) {
      const Cell& cell = cells_[i];
      const DataCheck& check = data.at(cell.dataset);
      CellEnd end;
      if (study::cell_finished(cell.config.out_dir)) {
        end = skip_finished(cell);
      } else if (!check.no_data.empty()) {  // said once per dataset, before the first cell
        end = record(cell, "no data", check.no_data, CellEnd::kNoData, false);
      } else if (!check.failed.empty()) {
        end = record(cell, "failed", check.failed, CellEnd::kFailed);
      } else {
        end = run_cell(i);
      }
      ++counts_[end];
    }
    std::printf("study: %zu cells: %d finished (%d of them earlier), %d no data, %d failed\n",
                cells_.size(), counts_[CellEnd::kDone] + counts_[CellEnd::kSkipped],
                counts_[CellEnd::kSkipped], counts_[CellEnd::kNoData], counts_[CellEnd::kFailed]);
    return counts_[CellEnd::kFailed];
  }

 private:
  CellEnd skip_finished(const Cell& cell) {
    // A kill between result.json and the checkpoint's removal leaves the checkpoint behind.
    std::error_code error;
    if (!request_.keep_checkpoints) fs::remove(cell.config.save_path, error);
    return CellEnd::kSkipped;
  }

  CellEnd record(const Cell& cell, const std::string& status, const std::string& message,
                 CellEnd end, bool say = true) {
    fs::create_directories(cell.config.out_dir);
    write_file_atomically(cell.config.out_dir + "/" + study::kCellErrorFile,
                          nlohmann::json{{"status", status}, {"error", message}}.dump(2) + "\n");
    if (say) std::printf("study: %s: %s: %s\n", cell.name.c_str(), status.c_str(), message.c_str());
    std::fflush(stdout);
    return end;
  }

  std::string eta(size_t index) const {
    if (cells_run_ == 0) return "after the first cell";
    size_t remaining = 0;
    for (size_t i = index; i < cells_.size(); ++i) {
      remaining += !study::cell_finished(cells_[i].config.out_dir);
    }
    return format_duration(seconds_run_ / cells_run_ * static_cast<double>(remaining));
  }

  CellEnd run_cell(size_t index) {
    const Cell& cell = cells_[index];
    TrainConfig config = cell.config;
    std::error_code error;
    const bool resume = fs::exists(config.save_path, error);
    if (resume) config.resume_path = config.save_path;
    fs::remove(config.out_dir + "/" + study::kCellErrorFile, error);
    std::printf("\nstudy [%zu/%zu] %s%s  (finished %d, no data %d, failed %d; ETA %s)\n",
                index + 1, cells_.size(), cell.name.c_str(), resume ? ", resuming" : "",
                counts_[CellEnd::kDone] + counts_[CellEnd::kSkipped], counts_[CellEnd::kNoData],
                counts_[CellEnd::kFailed], eta(index).c_str());
    std::fflush(stdout);
    const auto start = Clock::now();
    try {
      run_training(config);
    } catch (const std::exception& e) {
      cells_run_ += 1;
      seconds_run_ += seconds_since(start);
      return record(cell, "failed", e.what(), CellEnd::kFailed);
    }
    cells_run_ += 1;
    seconds_run_ += seconds_since(start);
    if (!request_.keep_checkpoints) fs::remove(config.save_path, error);
    std::printf("study: %s finished in %s\n", cell.name.c_str(),
                format_duration(seconds_since(start)).c_str());
    return CellEnd::kDone;
  }

  const StudyRequest& request_;
  const std::vector<Cell> cells_;
  std::map<CellEnd, int> counts_{{CellEnd::kDone, 0}, {CellEnd::kSkipped, 0},
                                 {CellEnd::kNoData, 0}, {CellEnd::kFailed, 0}};
  int cells_run_ = 0;  // by this process, for the ETA
  double seconds_run_ = 0.0;
};

// An exclusive lock on DIR/study.lock for as long as the study runs: two processes training the
// same cells would overwrite each other's checkpoints. Released by the kernel when the process
// ends, however it ends.
class StudyLock {
 public:
  explicit StudyLock(const std::string& dir) {
    const std::string path = dir + "/study.lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    require(fd_ >= 0, "cannot create " + path + " (" + std::strerror(errno) + ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      throw Error("another ffcuda study is running in " + dir +
                  "; wait for it to end (or stop it), then rerun to continue");
    }
  }
  ~StudyLock() { ::close(fd_); }
  StudyLock(const StudyLock&) = delete;
  StudyLock& operator=(const StudyLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace

int run_study(const StudyRequest& request) {
  require(!request.out_dir.empty(), "ffcuda study needs --out DIR (the study's folder)");
  require(request.save_interval_s >= 0.0, "--save-interval must be >= 0 seconds");
  // Everything is checked before the first cell trains: the grid, every cell's config, the
  // device, where the study writes, and which datasets are there.
  const study::Grid grid = study::make_grid(request);
  const TrainConfig base = study::base_config(request);
  std::error_code error;
  require(!fs::exists(request.out_dir, error) || fs::is_directory(request.out_dir, error),
          "--out " + request.out_dir + " is a file, not a folder; name a folder (it is created)");
  const std::vector<Cell> cells = study::expand_grid(grid, base, request);
  const std::string device = make_backend(enum_name(base.device))->name();
  const std::map<std::string, DataCheck> data = check_datasets(cells);

  nlohmann::json study = {{"schema", kSchemaVersion},
                          {"settings", study_settings(request, grid, base)},
                          {"presets",
                           {{"paper", config_to_json(study::preset_config("paper"))},
                            {"quick", config_to_json(study::preset_config("quick"))},
                            {"long", config_to_json(study::preset_config("long"))}}},
                          {"data_root", request.data_root},
                          {"ffcuda", version_line()},
                          {"commit", commit()},
                          {"device", device},
                          {"created", utc_now()}};
  for (const Cell& cell : cells) {
    study["cells"].push_back({{"name", cell.name},
                              {"dataset", cell.dataset},
                              {"task", cell.task},
                              {"algo", cell.algo},
                              {"sweep", cell.sweep_value},
                              {"seed", cell.seed}});
  }
  fs::create_directories(fs::path(request.out_dir) / "cells");
  const StudyLock lock(request.out_dir);
  create_or_check_study_file(request.out_dir, study);
  std::printf("study %s: %zu cells (datasets %zu x tasks %zu x algorithms %zu%s, seeds %d) on %s\n",
              request.out_dir.c_str(), cells.size(), grid.datasets.size(), grid.tasks.size(),
              grid.algos.size(),
              grid.sweep_values.empty()
                  ? ""
                  : (" x " + grid.sweep_key + " " + std::to_string(grid.sweep_values.size())).c_str(),
              grid.seeds, device.c_str());
  for (const auto& [name, check] : data) {
    if (!check.no_data.empty()) std::printf("study: %s: no data: %s\n", name.c_str(), check.no_data.c_str());
  }
  std::fflush(stdout);

  StudyRunner runner(request, cells);
  const int failed = runner.run(data);
  write_study_report(request.out_dir);
  return failed;
}

}  // namespace ff
