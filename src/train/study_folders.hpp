// The cells of a study as one or several of its folders hold them now: a study run whole into one
// folder, or its shards run into folders of their own and merged by `ffcuda study --report DIR1
// DIR2 ...`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ff::study {

// One cell of the grid as the report sees it.
struct CellState {
  nlohmann::json meta;    // its entry in study.json
  std::string status;     // finished | no data | failed | pending
  nlohmann::json result;  // result.json when finished
  std::string error;
  std::string dir;  // the study folder its state was read from ("" when pending)
};

// The study.json of the first folder, after checking that every folder holds one of the same
// study (the same settings). Throws ff::Error naming the folders and their first difference.
nlohmann::json read_study_of(const std::vector<std::string>& dirs);

// Each cell of `study`, from the first folder (in the order given) where it finished; else from
// the first where it failed or had no data; else pending. `notes` gets a line for each cell
// finished in more than one folder.
std::vector<CellState> read_cells(const std::vector<std::string>& dirs, const nlohmann::json& study,
                                  std::vector<std::string>& notes);

}  // namespace ff::study
