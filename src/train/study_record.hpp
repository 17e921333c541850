// DIR/study.json, the record every process of a study agrees on: what decides the study's results
// (compared on every rerun, every shard, every merge), and the request a child process is given.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "ff/config.hpp"
#include "ff/study.hpp"
#include "study_grid.hpp"

namespace ff::study {

// What decides the study's results: the preset, the config every cell starts from, the grid. Not
// where it writes, nor how it is run (--shard, --jobs, --gpus).
nlohmann::json study_settings(const StudyRequest& request, const Grid& grid,
                              const TrainConfig& base);

// The first difference between two settings objects, as "config.lr: 0.01 <ours_label>, 0.001
// <theirs_label>"; "" when they are equal.
std::string first_difference(const nlohmann::json& ours, const nlohmann::json& theirs,
                             const std::string& ours_label, const std::string& theirs_label,
                             const std::string& prefix = "");

// Creates DIR/study.json exclusively (exactly one of several processes starting at once does), or
// checks that the one there asks for the same study. Throws ff::Error naming the first difference.
// The settings of a study.json as this version reads them: one written by an earlier version
// lacks the training options added since, which then take the values those versions ran with.
nlohmann::json settings_as_this_version(nlohmann::json settings);

void create_or_check_study_file(const std::string& dir, const nlohmann::json& study);

// The request a study passes to the child process of one of its cells, and back.
nlohmann::json request_to_json(const StudyRequest& request);
StudyRequest request_from_json(const nlohmann::json& json);

}  // namespace ff::study
