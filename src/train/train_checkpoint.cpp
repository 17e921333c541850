#include "ff/train_checkpoint.hpp"

#include <nlohmann/json.hpp>

#include "ff/error.hpp"

namespace ff {

namespace {

std::string layer_tensor(int layer, const char* what) {
  return "layers." + std::to_string(layer) + "." + what;
}

// The config fields that must agree for a checkpoint to continue or be probed as `config`.
const char* const kNetworkFields[] = {"dataset", "task",   "layers", "algo",      "goodness",
                                      "threshold", "loss", "batch",  "optimizer", "seed",
                                      "train_limit"};

int64_t metadata_integer(const Checkpoint& checkpoint, const std::string& path,
                         const std::string& key) {
  const auto found = checkpoint.metadata.find(key);
  require(found != checkpoint.metadata.end(), path + ": the checkpoint has no '" + key + "' metadata");
  try {
    return std::stoll(found->second);
  } catch (const std::exception&) {
    throw Error(path + ": the checkpoint's '" + key + "' metadata is not an integer");
  }
}

}  // namespace

void save_training_checkpoint(const std::string& path, FfTrainer& trainer,
                              const TrainConfig& config, int next_epoch) {
  Mlp& network = trainer.network();
  const std::vector<float> params = network.params().download();
  Checkpoint checkpoint;
  size_t offset = 0;
  for (int l = 0; l < network.num_layers(); ++l) {
    const int64_t in = network.in_width(l), out = network.out_width(l);
    const auto weights = params.begin() + static_cast<std::ptrdiff_t>(offset);
    checkpoint.tensors.push_back({layer_tensor(l, "weight"), {out, in}, {weights, weights + out * in}});
    checkpoint.tensors.push_back({layer_tensor(l, "bias"), {out}, {weights + out * in, weights + out * in + out}});
    offset += static_cast<size_t>(out * in + out);
  }
  Optimizer& optimizer = trainer.optimizer();
  const auto count = static_cast<int64_t>(params.size());
  checkpoint.tensors.push_back({"optimizer.m", {count}, optimizer.first_moment().download()});
  if (optimizer.second_moment().size()) {
    checkpoint.tensors.push_back({"optimizer.v", {count}, optimizer.second_moment().download()});
  }
  if (trainer.has_head()) {
    Mlp& head = trainer.head();
    const std::vector<float> head_params = head.params().download();
    const int64_t in = head.in_width(0), out = head.out_width(0);
    checkpoint.tensors.push_back({"head.weight", {out, in}, {head_params.begin(), head_params.begin() + out * in}});
    checkpoint.tensors.push_back({"head.bias", {out}, {head_params.begin() + out * in, head_params.end()}});
    Optimizer& head_optimizer = trainer.head_optimizer();
    const auto head_count = static_cast<int64_t>(head_params.size());
    checkpoint.tensors.push_back({"head_optimizer.m", {head_count}, head_optimizer.first_moment().download()});
    if (head_optimizer.second_moment().size()) {
      checkpoint.tensors.push_back({"head_optimizer.v", {head_count}, head_optimizer.second_moment().download()});
    }
  }
  checkpoint.metadata["config"] = config_to_json(config).dump();
  checkpoint.metadata["next_epoch"] = std::to_string(next_epoch);
  checkpoint.metadata["optimizer_steps"] = std::to_string(optimizer.steps_taken());
  checkpoint.metadata["dims"] = nlohmann::json(network.dims()).dump();
  save_checkpoint(path, checkpoint);
}

TrainConfig checkpoint_config(const Checkpoint& checkpoint, const std::string& path) {
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

int restore_training_checkpoint(const Checkpoint& checkpoint, const std::string& path,
                                FfTrainer& trainer, const TrainConfig& config, bool with_optimizer) {
  const nlohmann::json saved = config_to_json(checkpoint_config(checkpoint, path));
  const nlohmann::json wanted = config_to_json(config);
  std::string mismatches;
  for (const char* field : kNetworkFields) {
    if (saved.at(field) != wanted.at(field)) {
      mismatches += std::string(mismatches.empty() ? "" : ", ") + field + " " +
                    saved.at(field).dump() + " (asked: " + wanted.at(field).dump() + ")";
    }
  }
  require(mismatches.empty(), path + ": the checkpoint was made with a different configuration: " +
                                  mismatches + "; pass the same options, or start a new run");

  Mlp& network = trainer.network();
  std::vector<float> params;
  params.reserve(network.parameter_count());
  for (int l = 0; l < network.num_layers(); ++l) {
    const int64_t in = network.in_width(l), out = network.out_width(l);
    const auto& w = require_tensor(checkpoint, path, layer_tensor(l, "weight"), {out, in}).data;
    const auto& b = require_tensor(checkpoint, path, layer_tensor(l, "bias"), {out}).data;
    params.insert(params.end(), w.begin(), w.end());
    params.insert(params.end(), b.begin(), b.end());
  }
  network.params().upload(params);
  if (with_optimizer) {
    Optimizer& optimizer = trainer.optimizer();
    const auto count = static_cast<int64_t>(params.size());
    optimizer.first_moment().upload(require_tensor(checkpoint, path, "optimizer.m", {count}).data);
    if (optimizer.second_moment().size()) {
      optimizer.second_moment().upload(require_tensor(checkpoint, path, "optimizer.v", {count}).data);
    }
    optimizer.set_steps_taken(metadata_integer(checkpoint, path, "optimizer_steps"));
  }
  if (trainer.has_head()) {
    Mlp& head = trainer.head();
    const int64_t in = head.in_width(0), out = head.out_width(0);
    std::vector<float> head_params = require_tensor(checkpoint, path, "head.weight", {out, in}).data;
    const auto& bias = require_tensor(checkpoint, path, "head.bias", {out}).data;
    head_params.insert(head_params.end(), bias.begin(), bias.end());
    head.params().upload(head_params);
    if (with_optimizer) {
      Optimizer& head_optimizer = trainer.head_optimizer();
      const auto count = static_cast<int64_t>(head_params.size());
      head_optimizer.first_moment().upload(require_tensor(checkpoint, path, "head_optimizer.m", {count}).data);
      if (head_optimizer.second_moment().size()) {
        head_optimizer.second_moment().upload(
            require_tensor(checkpoint, path, "head_optimizer.v", {count}).data);
      }
      head_optimizer.set_steps_taken(metadata_integer(checkpoint, path, "optimizer_steps"));
    }
  }
  return static_cast<int>(metadata_integer(checkpoint, path, "next_epoch"));
}

}  // namespace ff
