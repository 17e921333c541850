// `ffcuda study`: the grid of datasets x tasks x algorithms (x sweep values x seeds) as one
// resumable command, each cell an ordinary training run in DIR/cells/<name>/, and its report
// beside the published figures. docs/study.md describes the presets, the folder and the report.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace ff {

struct StudyRequest {
  std::string preset = "quick";  // quick | paper
  // Empty: the preset's grid (every dataset, every task, ff and bp-ce, the goodness variants of
  // backprop on supervised and rotation).
  std::vector<std::string> datasets, tasks, algos;
  int seeds = 1;      // seeds seed, seed + 1, ... of every cell
  std::string sweep;  // "lr=1e-3,1e-4": one cell per value
  // Train options given on the command line, as (config key, value as typed): they replace the
  // preset's value in every cell.
  std::vector<std::pair<std::string, std::string>> overrides;
  std::string out_dir;
  std::string data_root = "data";  // dataset d is read from <data_root>/<d>
  bool keep_checkpoints = false;   // a finished cell's checkpoint is removed unless set
  double save_interval_s = 30.0;   // a cell's checkpoint at the end of an epoch, at most this often
};

// Runs the study's cells that have no result yet (resuming an interrupted one from its checkpoint),
// then writes the report. Everything the cells need is checked before the first one starts.
// Returns the number of cells that failed (each recorded with its error; the others still ran).
int run_study(const StudyRequest& request);

// `ffcuda study --report DIR`: report.md, results.csv and timing.csv in DIR from what its cells
// hold now; `published_csv` ("" : the copy built in) holds the published figures.
void write_study_report(const std::string& dir, const std::string& published_csv = "");

// The names of the presets and what they set, for --help.
std::string study_preset_help();

}  // namespace ff
