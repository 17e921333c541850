#include "study_record.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "ff/error.hpp"
#include "ff/run_log.hpp"
#include "study_files.hpp"

namespace ff::study {

namespace fs = std::filesystem;

nlohmann::json study_settings(const StudyRequest& request, const Grid& grid,
                              const TrainConfig& base) {
  return {{"preset", request.preset},
          {"config", config_to_json(base)},
          {"grid",
           {{"datasets", grid.datasets},
            {"tasks", grid.tasks},
            {"algos", grid.algos},
            {"seeds", grid.seeds},
            {"sweep", {{"option", grid.sweep_key}, {"values", grid.sweep_values}}}}}};
}

std::string first_difference(const nlohmann::json& ours, const nlohmann::json& theirs,
                             const std::string& ours_label, const std::string& theirs_label,
                             const std::string& prefix) {
  if (ours.is_object() && theirs.is_object()) {
    for (const auto& [key, value] : ours.items()) {
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (!theirs.contains(key)) return path + " is new";
      std::string difference =  // not const: moved out on return
          first_difference(value, theirs.at(key), ours_label, theirs_label, path);
      if (!difference.empty()) return difference;
    }
    for (const auto& [key, value] : theirs.items()) {
      if (!ours.contains(key)) return (prefix.empty() ? key : prefix + "." + key) + " is gone";
    }
    return "";
  }
  if (ours == theirs) return "";
  return prefix + ": " + ours.dump() + " " + ours_label + ", " + theirs.dump() + " " + theirs_label;
}

nlohmann::json settings_as_this_version(nlohmann::json settings) {
  if (settings.contains("config")) {
    settings["config"] = config_to_json(config_from_json(settings["config"]));
  }
  return settings;
}

void create_or_check_study_file(const std::string& dir, const nlohmann::json& study) {
  const std::string path = dir + "/study.json";
  std::error_code error;
  if (!fs::exists(path, error)) {
    // A name of this process's own, complete before link() publishes it; link() fails if
    // study.json appeared meanwhile (another shard starting at the same moment), and then that
    // one is checked like any other.
    const std::string fresh = path + ".new." + std::to_string(::getpid());
    write_file_atomically(fresh, study.dump(2) + "\n");
    const bool created = ::link(fresh.c_str(), path.c_str()) == 0;
    const int link_error = errno;
    fs::remove(fresh, error);
    if (created) {
      sync_parent_folder(path);
      return;
    }
    require(link_error == EEXIST, "cannot create " + path + " (" + std::strerror(link_error) +
                                      "): the study's folder must be on a file system that "
                                      "supports hard links; use another --out");
  }
  const nlohmann::json existing = read_json_file(path);
  const std::string difference = first_difference(
      study.at("settings"),
      settings_as_this_version(existing.value("settings", nlohmann::json::object())), "now",
      "in study.json");
  require(difference.empty(), dir + " holds another study (" + difference +
                                  "); rerun with the same options to continue it, or use "
                                  "another --out");
  if (existing.value("ffcuda", "") != study.at("ffcuda")) {
    std::printf("study: note: %s was started by %s; this is %s\n", path.c_str(),
                existing.value("ffcuda", std::string("?")).c_str(),
                study.at("ffcuda").get<std::string>().c_str());
  }
}

// Every field of StudyRequest but how this process takes part (shard, jobs, gpus): a child runs
// one cell, in itself.
nlohmann::json request_to_json(const StudyRequest& request) {
  nlohmann::json overrides = nlohmann::json::array();
  for (const auto& [key, value] : request.overrides) overrides.push_back({key, value});
  return {{"preset", request.preset},
          {"datasets", request.datasets},
          {"tasks", request.tasks},
          {"algos", request.algos},
          {"seeds", request.seeds},
          {"sweep", request.sweep},
          {"overrides", overrides},
          {"out_dir", request.out_dir},
          {"data_root", request.data_root},
          {"keep_checkpoints", request.keep_checkpoints},
          {"save_interval_s", request.save_interval_s}};
}

StudyRequest request_from_json(const nlohmann::json& json) {
  StudyRequest request;
  request.preset = json.at("preset").get<std::string>();
  request.datasets = json.at("datasets").get<std::vector<std::string>>();
  request.tasks = json.at("tasks").get<std::vector<std::string>>();
  request.algos = json.at("algos").get<std::vector<std::string>>();
  request.seeds = json.at("seeds").get<int>();
  request.sweep = json.at("sweep").get<std::string>();
  for (const nlohmann::json& pair : json.at("overrides")) {
    request.overrides.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
  }
  request.out_dir = json.at("out_dir").get<std::string>();
  request.data_root = json.at("data_root").get<std::string>();
  request.keep_checkpoints = json.at("keep_checkpoints").get<bool>();
  request.save_interval_s = json.at("save_interval_s").get<double>();
  return request;
}

}  // namespace ff::study
