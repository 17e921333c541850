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
  // How this process takes part (not part of the study's settings: every share of one study
  // agrees on study.json).
  std::string
      shard;     // "I/N": only the cells whose grid position k (from 1) has (k - 1) % N == I - 1
  int jobs = 1;  // cells at a time; above 1 each runs in a child process
  std::string gpus;  // "0,1": one child per GPU, CUDA_VISIBLE_DEVICES set to it ("": none)
};

// Runs the study's cells that have no result yet (resuming an interrupted one from its checkpoint),
// then writes the report. Everything the cells need is checked before the first one starts.
// Returns the number of cells that failed (each recorded with its error; the others still ran).
int run_study(const StudyRequest& request);

// The child process of a study that runs one cell (`ffcuda study --run-cell`): `request_json` is
// what the parent passes (the cell's name and the study's request). Writes the cell's result.json
// or error.json; returns the exit status (0: finished).
int run_study_cell(const std::string& request_json);

// `ffcuda study --report DIR`: report.md, results.csv and timing.csv in DIR from what its cells
// hold now; `published_csv` ("" : the copy built in) holds the published figures.
void write_study_report(const std::string& dir, const std::string& published_csv = "");
// `ffcuda study --report DIR1 DIR2 ... [--out OUT]`: one report of the cells of several folders of
// one study (the shards of a study run into folders of their own), written to `out_dir` ("": the
// first folder). Folders of different studies are refused; a cell finished in several folders
// takes its figures from the first of them, in the order given.
void write_study_report(const std::vector<std::string>& dirs, const std::string& out_dir,
                        const std::string& published_csv = "");

// The names of the presets and what they set, for --help.
std::string study_preset_help();

}  // namespace ff
