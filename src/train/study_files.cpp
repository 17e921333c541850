#include "study_files.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ff/error.hpp"

namespace ff::study {

std::string cell_dir(const std::string& study_dir, const std::string& cell_name) {
  return (std::filesystem::path(study_dir) / "cells" / cell_name).string();
}

bool cell_finished(const std::string& cell_dir) {
  std::error_code error;
  return std::filesystem::exists(std::filesystem::path(cell_dir) / "result.json", error);
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  require(in.good(), "cannot read " + path + ": is this a study folder (ffcuda study --out)?");
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  require(!json.is_discarded(), path +
                                    " is not valid JSON (damaged?); remove it and rerun the "
                                    "study command to recreate it");
  return json;
}

}  // namespace ff::study
