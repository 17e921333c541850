// What a study's folder holds, shared by the runner and the report.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace ff::study {

// In a cell's folder: result.json once it finished; error.json ({"status": "failed" | "no data",
// "error": ...}) when it could not; checkpoint.safetensors while it is unfinished.
inline constexpr const char* kCellErrorFile = "error.json";

// The folder of cell `cell_name` in the study folder `study_dir`.
std::string cell_dir(const std::string& study_dir, const std::string& cell_name);

bool cell_finished(const std::string& cell_dir);

// The JSON in `path`. Throws ff::Error naming the file when it is missing or not JSON.
nlohmann::json read_json_file(const std::string& path);

}  // namespace ff::study
