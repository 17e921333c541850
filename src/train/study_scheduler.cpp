#include "study_scheduler.hpp"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "cell_process.hpp"
#include "ff/run_log.hpp"
#include "study_cell.hpp"
#include "study_files.hpp"
#include "study_lock.hpp"
#include "study_record.hpp"

namespace ff::study {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A cell whose child process runs now.
struct Running {
  size_t index;
  pid_t pid;
  int slot;
  FileLock lock;  // the parent's hold; the child holds it too
  Clock::time_point start;
};

class CellScheduler {
 public:
  CellScheduler(const StudyRequest& request, const std::vector<Cell>& cells,
                const std::map<std::string, DataCheck>& data, const Slots& slots)
      : request_(request),
        cells_(cells),
        data_(data),
        slots_(slots),
        slot_busy_(static_cast<size_t>(slots.count), false) {
    for (size_t i = 0; i < cells_.size(); ++i) todo_.push_back(i);
  }

  int run() {
    std::optional<StopSignals> stop;
    if (slots_.children) stop.emplace();
    try {
      while (true) {
        if (slots_.children) reap_children();
        if (stop && stop->requested()) {
          std::printf("study: stopping %zu running cell%s (rerun the command to continue)\n",
                      running_.size(), running_.size() == 1 ? "" : "s");
          std::fflush(stdout);
          stop_running();
          stop->raise_again();
        }
        start_what_can_start();
        if (todo_.empty() && running_.empty()) break;
        // Children to reap, or cells another process holds: look again shortly.
        std::this_thread::sleep_for(std::chrono::milliseconds(slots_.children ? 100 : 250));
      }
    } catch (...) {
      stop_running();
      throw;
    }
    const int finished = counts_[CellEnd::kDone] + counts_[CellEnd::kSkipped];
    std::printf(
        "study: %zu cells: %d finished (%d of them earlier%s), %d no data, %d failed\n",
        cells_.size(), finished, counts_[CellEnd::kSkipped] - by_others_,
        by_others_ == 0 ? "" : (", " + std::to_string(by_others_) + " by another process").c_str(),
        counts_[CellEnd::kNoData], counts_[CellEnd::kFailed]);
    std::fflush(stdout);
    return counts_[CellEnd::kFailed];
  }

 private:
  bool free_slot() const { return running_.size() < static_cast<size_t>(slots_.count); }

  // Goes through the cells not done yet, in order, while a slot is free: skips finished ones,
  // starts those whose lock it gets, leaves those another process holds for later.
  void start_what_can_start() {
    for (size_t at = 0; at < todo_.size() && free_slot();) {
      const size_t index = todo_[at];
      const Cell& cell = cells_[index];
      if (cell_finished(cell.config.out_dir)) {
        todo_.erase(todo_.begin() + static_cast<std::ptrdiff_t>(at));
        skip_finished(index);
        continue;
      }
      fs::create_directories(cell.config.out_dir);
      std::optional<FileLock> lock = FileLock::try_take(cell_lock_path(cell.config.out_dir));
      if (!lock) {
        if (held_elsewhere_.insert(index).second) {
          std::printf("study: %s: another process is training it; waiting for it\n",
                      cell.name.c_str());
          std::fflush(stdout);
        }
        ++at;
        continue;
      }
      todo_.erase(todo_.begin() + static_cast<std::ptrdiff_t>(at));
      take(index, std::move(*lock));
    }
  }

  // The cell's lock is ours: decide what to do with it.
  void take(size_t index, FileLock lock) {
    const Cell& cell = cells_[index];
    if (cell_finished(cell.config.out_dir)) {  // finished meanwhile by the process we waited for
      skip_finished(index);
      return;
    }
    if (held_elsewhere_.count(index)) {
      // The process we waited for recorded a failure: counted, not retried (a rerun retries it).
      const CellOutcome recorded = recorded_outcome(cell);
      if (recorded.end == CellEnd::kFailed || recorded.end == CellEnd::kNoData) {
        std::printf("study: %s: %s in another process: %s\n", cell.name.c_str(),
                    recorded.end == CellEnd::kNoData ? "no data" : "failed",
                    recorded.error.c_str());
        ++counts_[recorded.end];
        return;
      }
    }
    const DataCheck& check = data_.at(cell.dataset);
    if (!check.no_data.empty()) {  // said once per dataset, before the first cell
      record_cell_error(cell, "no data", check.no_data);
      ++counts_[CellEnd::kNoData];
    } else if (!check.failed.empty()) {
      record_cell_error(cell, "failed", check.failed);
      say_failed(cell, check.failed);
      ++counts_[CellEnd::kFailed];
    } else if (slots_.children) {
      start_child_for(index, std::move(lock));
    } else {
      train_here(index);
    }
  }

  void skip_finished(size_t index) {
    // A kill between result.json and the checkpoint's removal leaves the checkpoint behind.
    std::error_code error;
    if (!request_.keep_checkpoints) fs::remove(cells_[index].config.save_path, error);
    ++counts_[CellEnd::kSkipped];
    by_others_ += held_elsewhere_.count(index) ? 1 : 0;
  }

  void say_failed(const Cell& cell, const std::string& error) {
    std::printf("study: %s: failed: %s\n", cell.name.c_str(), error.c_str());
    std::fflush(stdout);
  }

  std::string counts_text() const {
    std::string text =
        "finished " + std::to_string(counts_.at(CellEnd::kDone) + counts_.at(CellEnd::kSkipped));
    if (slots_.children) text += ", running " + std::to_string(running_.size());
    return text + ", no data " + std::to_string(counts_.at(CellEnd::kNoData)) + ", failed " +
           std::to_string(counts_.at(CellEnd::kFailed)) + "; ETA " + eta();
  }

  // From the cells this process ran: their mean time, times what is left, over the slots.
  std::string eta() const {
    if (cells_run_ == 0) return "after the first cell";
    size_t remaining = running_.size() + 1;  // with the cell starting now
    for (size_t index : todo_) remaining += !cell_finished(cells_[index].config.out_dir);
    return format_duration(seconds_run_ / cells_run_ * static_cast<double>(remaining) /
                           slots_.count);
  }

  // ", resuming" and the like, after the cell's name.
  std::string how_it_starts(size_t index) const {
    std::error_code error;
    std::string text = fs::exists(cells_[index].config.save_path, error) ? ", resuming" : "";
    // The process that held it ended without finishing it (killed, say).
    if (held_elsewhere_.count(index)) text += ", taken over from another process";
    return text;
  }

  void train_here(size_t index) {
    const Cell& cell = cells_[index];
    std::printf("\nstudy [%zu/%zu] %s%s  (%s)\n", index + 1, cells_.size(), cell.name.c_str(),
                how_it_starts(index).c_str(), counts_text().c_str());
    std::fflush(stdout);
    const auto start = Clock::now();
    const CellOutcome outcome = train_cell_here(cell, request_.keep_checkpoints);
    ended(index, outcome, seconds_since(start));
  }

  void ended(size_t index, const CellOutcome& outcome, double seconds) {
    cells_run_ += 1;
    seconds_run_ += seconds;
    ++counts_[outcome.end];
    if (outcome.end == CellEnd::kDone) {
      std::printf("study: %s finished in %s\n", cells_[index].name.c_str(),
                  format_duration(seconds).c_str());
      std::fflush(stdout);
    } else {
      say_failed(cells_[index], outcome.error);
    }
  }

  void start_child_for(size_t index, FileLock lock) {
    const Cell& cell = cells_[index];
    int slot = 0;
    while (slot_busy_[static_cast<size_t>(slot)]) ++slot;
    const std::string log = cell.config.out_dir + "/log.txt";
    std::string where = "log " + log;
    ChildSpec spec;
    const nlohmann::json order = {
        {"cell", cell.name}, {"lock_fd", lock.fd()}, {"request", request_to_json(request_)}};
    spec.arguments = {"study", "--run-cell", order.dump()};
    const std::string threads = std::to_string(slots_.threads_per_child);
    spec.environment = {{"OMP_NUM_THREADS", threads}};
    if (!slots_.devices.empty()) {
      const std::string& device = slots_.devices[static_cast<size_t>(slot)];
      spec.environment.emplace_back("CUDA_VISIBLE_DEVICES", device);
      where = "CUDA_VISIBLE_DEVICES=" + device + ", " + where;
    }
    spec.log_path = log;
    spec.inherited_fd = lock.fd();
    // An error.json of an earlier run would otherwise be taken for this child's.
    std::error_code error;
    fs::remove(cell.config.out_dir + "/" + kCellErrorFile, error);
    std::printf("study [%zu/%zu] %s%s: started (%s)  (%s)\n", index + 1, cells_.size(),
                cell.name.c_str(), how_it_starts(index).c_str(), where.c_str(),
                counts_text().c_str());
    std::fflush(stdout);
    const pid_t pid = start_child(spec);
    slot_busy_[static_cast<size_t>(slot)] = true;
    running_.push_back({index, pid, slot, std::move(lock), Clock::now()});
  }

  void reap_children() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      for (size_t i = 0; i < running_.size(); ++i) {
        if (running_[i].pid != pid) continue;
        const Running& child = running_[i];
        ended(child.index, child_outcome(cells_[child.index], status), seconds_since(child.start));
        slot_busy_[static_cast<size_t>(child.slot)] = false;
        running_.erase(running_.begin() + static_cast<std::ptrdiff_t>(i));
        break;
      }
    }
  }

  // How a child's cell ended: what it recorded, or, when it recorded nothing (killed, crashed),
  // a failure saying how the process ended.
  CellOutcome child_outcome(const Cell& cell, int status) {
    CellOutcome outcome = recorded_outcome(cell);
    if (outcome.end == CellEnd::kDone) {
      std::error_code error;
      if (!request_.keep_checkpoints) fs::remove(cell.config.save_path, error);
      return outcome;
    }
    if (outcome.end != CellEnd::kSkipped) return outcome;
    const std::string log = cell.config.out_dir + "/log.txt";
    const std::string last = last_line_of(log);
    std::string message = "the cell's process " + describe_exit(status) + " without a result";
    if (!last.empty()) message += " (its last line: " + last + ")";
    message += "; its output is in " + log;
    record_cell_error(cell, "failed", message);
    return {CellEnd::kFailed, message};
  }

  void stop_running() {
    std::vector<pid_t> pids;
    for (const Running& child : running_) pids.push_back(child.pid);
    stop_children(pids, 10.0);
    running_.clear();
  }

  const StudyRequest& request_;
  const std::vector<Cell>& cells_;
  const std::map<std::string, DataCheck>& data_;
  const Slots slots_;
  std::vector<size_t> todo_;  // not yet taken, in grid order
  std::vector<Running> running_;
  std::vector<bool> slot_busy_;
  std::set<size_t> held_elsewhere_;  // cells found locked by another process
  std::map<CellEnd, int> counts_{
      {CellEnd::kDone, 0}, {CellEnd::kSkipped, 0}, {CellEnd::kNoData, 0}, {CellEnd::kFailed, 0}};
  int by_others_ = 0;  // of the skipped: finished by a process this one waited for
  int cells_run_ = 0;  // by this process, for the ETA
  double seconds_run_ = 0.0;
};

}  // namespace

int run_cells(const StudyRequest& request, const std::vector<Cell>& cells,
              const std::map<std::string, DataCheck>& data, const Slots& slots) {
  return CellScheduler(request, cells, data, slots).run();
}

}  // namespace ff::study
