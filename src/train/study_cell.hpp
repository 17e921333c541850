// One cell of a study, run in this process: resumed from its checkpoint when there is one, its
// error recorded in error.json when it fails. The study's own process and the child process of a
// cell (--jobs, --gpus) both run a cell through here.
#pragma once

#include <string>

#include "study_grid.hpp"

namespace ff::study {

// How a cell ended, for the progress lines and the counts.
enum class CellEnd { kDone, kSkipped, kNoData, kFailed };

struct CellOutcome {
  CellEnd end = CellEnd::kDone;
  std::string error;  // kFailed, kNoData: why
};

// Trains the cell (from its checkpoint when there is one) and writes its result.json, or its
// error.json when training fails. The caller holds the cell's lock.
CellOutcome train_cell_here(const Cell& cell, bool keep_checkpoints);

// Writes the cell's error.json: {"status": status, "error": message}.
void record_cell_error(const Cell& cell, const std::string& status, const std::string& message);

// What the cell's folder says about how it ended: kDone (result.json), kFailed or kNoData
// (error.json, with its message), or kSkipped when it holds neither (not run, or interrupted).
CellOutcome recorded_outcome(const Cell& cell);

}  // namespace ff::study
