// Runs the cells of one process's share of a study: each under its lock (so that shards, job
// slots and a second copy of the command never train one cell twice at once), in this process one
// at a time or in child processes several at a time, skipping finished cells, waiting for cells
// another process is training and taking them over if that process ends without finishing them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ff/study.hpp"
#include "study_grid.hpp"
#include "study_share.hpp"

namespace ff::study {

// Per dataset: "" when its files are there and read, otherwise why its cells cannot run.
struct DataCheck {
  std::string no_data;  // the files are missing: where to put them
  std::string failed;   // they are there but cannot be read
};

// Runs `cells` (this process's share, in grid order) and prints a line per cell and a summary.
// Returns the number that failed (each recorded in its error.json; the others still ran).
int run_cells(const StudyRequest& request, const std::vector<Cell>& cells,
              const std::map<std::string, DataCheck>& data, const Slots& slots);

}  // namespace ff::study
