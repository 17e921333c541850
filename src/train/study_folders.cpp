#include "study_folders.hpp"

#include <filesystem>

#include "ff/error.hpp"
#include "study_files.hpp"
#include "study_record.hpp"

namespace ff::study {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The state of cell `name` in one folder ("pending" when it holds nothing of it).
CellState read_cell(const std::string& dir, const json& meta) {
  CellState cell{meta, "pending", json(), "", ""};
  const std::string folder = cell_dir(dir, meta.at("name").get<std::string>());
  std::error_code error;
  if (cell_finished(folder)) {
    cell.status = "finished";
    cell.result = read_json_file(folder + "/result.json");
    cell.dir = dir;
  } else if (fs::exists(folder + "/" + kCellErrorFile, error)) {
    const json failure = read_json_file(folder + "/" + kCellErrorFile);
    cell.status = failure.value("status", "failed");
    cell.error = failure.value("error", "");
    cell.dir = dir;
  }
  return cell;
}

}  // namespace

json read_study_of(const std::vector<std::string>& dirs) {
  require(!dirs.empty(), "--report needs the study's folder (or the folders of its shards)");
  json first = read_json_file(dirs.front() + "/study.json");  // not const: moved out on return
  require(first.is_object() && first.contains("settings") && first.contains("cells"),
          dirs.front() + "/study.json is not a study's; is this a study folder?");
  for (size_t i = 1; i < dirs.size(); ++i) {
    const json other = read_json_file(dirs[i] + "/study.json");
    const std::string difference = first_difference(
        settings_as_this_version(other.value("settings", json::object())),
        settings_as_this_version(first.at("settings")), "in " + dirs[i], "in " + dirs.front());
    require(difference.empty(), dirs[i] + " and " + dirs.front() + " hold different studies (" +
                                    difference + "); merge only the folders of one study");
  }
  return first;
}

std::vector<CellState> read_cells(const std::vector<std::string>& dirs, const json& study,
                                  std::vector<std::string>& notes) {
  std::vector<CellState> cells;
  try {
    for (const json& meta : study.at("cells")) {
      CellState chosen{meta, "pending", json(), "", ""};
      std::vector<std::string> finished_in;
      for (const std::string& dir : dirs) {
        CellState here = read_cell(dir, meta);
        if (here.status == "finished") finished_in.push_back(dir);
        const bool better = (here.status == "finished" && chosen.status != "finished") ||
                            (here.status != "pending" && chosen.status == "pending");
        if (better) chosen = std::move(here);
      }
      if (finished_in.size() > 1) {
        std::string where;
        for (const std::string& dir : finished_in) where += (where.empty() ? "" : ", ") + dir;
        notes.push_back(meta.at("name").get<std::string>() + " finished in " + where + ": the " +
                        "figures of " + finished_in.front() + " are used");
      }
      cells.push_back(std::move(chosen));
    }
  } catch (const json::exception& e) {
    throw Error(dirs.front() + "/study.json is not a study's (" + e.what() +
                "); is this a study folder?");
  }
  return cells;
}

}  // namespace ff::study
