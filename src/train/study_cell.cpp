#include "study_cell.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "ff/run.hpp"
#include "ff/run_log.hpp"
#include "study_files.hpp"

namespace ff::study {

namespace fs = std::filesystem;

CellOutcome train_cell_here(const Cell& cell, bool keep_checkpoints) {
  TrainConfig config = cell.config;
  std::error_code error;
  if (fs::exists(config.save_path, error)) config.resume_path = config.save_path;
  fs::remove(config.out_dir + "/" + kCellErrorFile, error);
  try {
    run_training(config);
  } catch (const std::exception& e) {
    record_cell_error(cell, "failed", e.what());
    return {CellEnd::kFailed, e.what()};
  }
  if (!keep_checkpoints) fs::remove(config.save_path, error);
  return {CellEnd::kDone, ""};
}

void record_cell_error(const Cell& cell, const std::string& status, const std::string& message) {
  fs::create_directories(cell.config.out_dir);
  write_file_atomically(cell.config.out_dir + "/" + kCellErrorFile,
                        nlohmann::json{{"status", status}, {"error", message}}.dump(2) + "\n");
}

CellOutcome recorded_outcome(const Cell& cell) {
  if (cell_finished(cell.config.out_dir)) return {CellEnd::kDone, ""};
  const std::string path = cell.config.out_dir + "/" + kCellErrorFile;
  std::error_code error;
  if (!fs::exists(path, error)) return {CellEnd::kSkipped, ""};
  const nlohmann::json failure = read_json_file(path);
  const std::string status = failure.value("status", "failed");
  return {status == "no data" ? CellEnd::kNoData : CellEnd::kFailed,
          failure.value("error", std::string())};
}

}  // namespace ff::study
