#include "ff/train_checkpoint.hpp"

#include <nlohmann/json.hpp>

#include <iterator>
#include <vector>

#include "ff/error.hpp"

namespace ff {

namespace {

std::string layer_tensor(int layer, const char* what) {
  return "layers." + std::to_string(layer) + "." + what;
}

// The config fields that must agree for a checkpoint to continue or be probed as `config`.
const char* const kNetworkFields[] = {
    "dataset",   "task", "layers",      "algo",    "goodness",  "threshold", "loss",        "batch",
    "optimizer", "seed", "train_limit", "classes", "negatives", "peer_norm", "track_linear"};

int64_t metadata_integer(const Checkpoint& checkpoint, const std::string& path,
                         const std::string& key) {
  const auto found = checkpoint.metadata.find(key);
  require(found != checkpoint.metadata.end(),
          path + ": the checkpoint has no '" + key + "' metadata");
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(found->second, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  require(used > 0 && used == found->second.size(),
          path + ": the checkpoint's '" + key + "' metadata is not an integer");
  return value;
}

// Where an Mlp's tensors live in the file: the network's layer l is "layers.<l>.", a one-layer
// classifier's "<name>." (the bp-ce head "head.", the tracked classifier "tracker."); their Adam
// moments "optimizer.", "head_optimizer.", "tracker_optimizer.".
struct TensorNames {
  std::string classifier;  // "" for the network
  std::string layer(int l, const char* what) const {
    return classifier.empty() ? layer_tensor(l, what) : classifier + "." + what;
  }
  std::string moment(const char* which) const {
    return (classifier.empty() ? std::string("optimizer") : classifier + "_optimizer") + "." +
           which;
  }
};
const TensorNames kNetworkTensors{""}, kHeadTensors{"head"}, kTrackerTensors{"tracker"};

std::string peer_means_tensor(int layer) { return layer_tensor(layer, "peer_running_mean"); }

void add_mlp_tensors(Checkpoint& checkpoint, const TensorNames& names, Mlp& mlp,
                     Optimizer& optimizer) {
  const std::vector<float> params = mlp.params().download();
  auto next = params.begin();
  for (int l = 0; l < mlp.num_layers(); ++l) {
    const int64_t in = mlp.in_width(l), out = mlp.out_width(l);
    checkpoint.tensors.push_back({names.layer(l, "weight"), {out, in}, {next, next + out * in}});
    next += out * in;
    checkpoint.tensors.push_back({names.layer(l, "bias"), {out}, {next, next + out}});
    next += out;
  }
  const auto count = static_cast<int64_t>(params.size());
  checkpoint.tensors.push_back({names.moment("m"), {count}, optimizer.first_moment().download()});
  if (optimizer.second_moment().size()) {
    checkpoint.tensors.push_back(
        {names.moment("v"), {count}, optimizer.second_moment().download()});
  }
}

void restore_mlp_tensors(const Checkpoint& checkpoint, const std::string& path,
                         const TensorNames& names, Mlp& mlp, Optimizer& optimizer,
                         bool with_optimizer) {
  std::vector<float> params;
  params.reserve(mlp.parameter_count());
  for (int l = 0; l < mlp.num_layers(); ++l) {
    const int64_t in = mlp.in_width(l), out = mlp.out_width(l);
    const auto& w = require_tensor(checkpoint, path, names.layer(l, "weight"), {out, in}).data;
    const auto& b = require_tensor(checkpoint, path, names.layer(l, "bias"), {out}).data;
    params.insert(params.end(), w.begin(), w.end());
    params.insert(params.end(), b.begin(), b.end());
  }
  mlp.params().upload(params);
  if (!with_optimizer) return;
  const auto count = static_cast<int64_t>(params.size());
  optimizer.first_moment().upload(
      require_tensor(checkpoint, path, names.moment("m"), {count}).data);
  if (optimizer.second_moment().size()) {
    optimizer.second_moment().upload(
        require_tensor(checkpoint, path, names.moment("v"), {count}).data);
  }
  optimizer.set_steps_taken(metadata_integer(checkpoint, path, "optimizer_steps"));
}

}  // namespace

void save_training_checkpoint(const std::string& path, Model& model, const TrainConfig& config,
                              int next_epoch) {
  Checkpoint checkpoint;
  add_mlp_tensors(checkpoint, kNetworkTensors, model.network(), model.optimizer());
  if (model.has_head()) {
    add_mlp_tensors(checkpoint, kHeadTensors, model.head(), model.head_optimizer());
  }
  if (model.has_tracker()) {
    add_mlp_tensors(checkpoint, kTrackerTensors, model.tracker(), model.tracker_optimizer());
  }
  if (model.all_peer_means().size()) {
    const std::vector<float> means = model.all_peer_means().download();
    auto next = means.begin();
    for (int l = 0; l < model.network().num_layers(); ++l) {
      const int64_t width = model.network().out_width(l);
      checkpoint.tensors.push_back({peer_means_tensor(l), {width}, {next, next + width}});
      next += width;
    }
  }
  checkpoint.metadata["schema"] = std::to_string(kSchemaVersion);
  checkpoint.metadata["config"] = config_to_json(config).dump();
  checkpoint.metadata["next_epoch"] = std::to_string(next_epoch);
  checkpoint.metadata["optimizer_steps"] = std::to_string(model.optimizer().steps_taken());
  checkpoint.metadata["dims"] = nlohmann::json(model.network().dims()).dump();
  save_checkpoint(path, checkpoint);
}

TrainConfig checkpoint_config(const Checkpoint& checkpoint, const std::string& path) {
  // Schema 1 checkpoints from before the schema field carry the same metadata: absent means 1.
  const int64_t schema =
      checkpoint.metadata.count("schema") ? metadata_integer(checkpoint, path, "schema") : 1;
  require(schema >= 1, path + ": the checkpoint's schema version " + std::to_string(schema) +
                           " is not one ffcuda has written (versions start at 1)");
  require(schema <= kSchemaVersion,
          path + ": the checkpoint has schema version " + std::to_string(schema) +
              ", this ffcuda reads up to version " + std::to_string(kSchemaVersion) +
              "; use the ffcuda version that wrote it, or a newer one");
  const auto found = checkpoint.metadata.find("config");
  require(found != checkpoint.metadata.end(), path + ": the checkpoint has no config metadata");
  try {
    return config_from_json(nlohmann::json::parse(found->second));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": the checkpoint's config is not valid JSON: " + e.what());
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

void require_matching_config(const Checkpoint& checkpoint, const std::string& path,
                             const TrainConfig& config) {
  const nlohmann::json saved = config_to_json(checkpoint_config(checkpoint, path));
  const nlohmann::json wanted = config_to_json(config);
  std::string mismatches;
  std::vector<const char*> fields(std::begin(kNetworkFields), std::end(kNetworkFields));
  // The classifier trained alongside reads the scoring layers: other layers, other features.
  if (saved.value("track_linear", false)) fields.push_back("score_layers");
  for (const char* field : fields) {
    if (saved.at(field) != wanted.at(field)) {
      mismatches += std::string(mismatches.empty() ? "" : ", ") + field + " " +
                    saved.at(field).dump() + " (asked: " + wanted.at(field).dump() + ")";
    }
  }
  require(mismatches.empty(), path + ": the checkpoint was made with a different configuration: " +
                                  mismatches + "; pass the same options, or start a new run");
}

int restore_training_checkpoint(const Checkpoint& checkpoint, const std::string& path, Model& model,
                                const TrainConfig& config, bool with_optimizer) {
  require_matching_config(checkpoint, path, config);
  restore_mlp_tensors(checkpoint, path, kNetworkTensors, model.network(), model.optimizer(),
                      with_optimizer);
  if (model.has_head()) {
    restore_mlp_tensors(checkpoint, path, kHeadTensors, model.head(), model.head_optimizer(),
                        with_optimizer);
  }
  if (model.has_tracker()) {
    restore_mlp_tensors(checkpoint, path, kTrackerTensors, model.tracker(),
                        model.tracker_optimizer(), with_optimizer);
  }
  if (model.all_peer_means().size()) {
    std::vector<float> means;
    for (int l = 0; l < model.network().num_layers(); ++l) {
      const int64_t width = model.network().out_width(l);
      const auto& layer = require_tensor(checkpoint, path, peer_means_tensor(l), {width}).data;
      means.insert(means.end(), layer.begin(), layer.end());
    }
    model.all_peer_means().upload(means);
  }
  return static_cast<int>(metadata_integer(checkpoint, path, "next_epoch"));
}

}  // namespace ff
