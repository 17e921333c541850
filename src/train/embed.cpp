#include "ff/embed.hpp"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "ff/error.hpp"
#include "ff/npy.hpp"
#include "ff/run.hpp"
#include "ff/run_log.hpp"
#include "ff/train_checkpoint.hpp"
#include "ff/trainer.hpp"
#include "ff/version.hpp"

namespace ff {

namespace {

FeatureLabel parse_feature_label(const std::string& text) {
  if (text == "neutral") return {};
  if (text == "true") return {FeatureLabel::kTrue, 0};
  size_t used = 0;
  int value = -1;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  require(used == text.size() && used > 0 && value >= 0,
          "--label '" + text + "': use neutral, true or a label number (0, 1, ...)");
  return {FeatureLabel::kFixed, value};
}

// The layer sets to write: each single layer ("each"), or the one selection.
std::vector<std::pair<std::string, std::vector<int>>> layer_sets(const std::string& spec,
                                                                 int num_layers) {
  std::vector<std::pair<std::string, std::vector<int>>> sets;
  if (spec == kEachLayer) {
    for (int l = 0; l < num_layers; ++l) sets.push_back({"layer" + std::to_string(l + 1), {l}});
    return sets;
  }
  std::string name = spec;
  for (char& c : name) c = c == ',' ? '_' : c;
  try {
    sets.push_back({name, parse_score_layers(spec, num_layers)});
  } catch (const Error& e) {
    throw Error(std::string("--layers: ") + e.what());
  }
  return sets;
}

}  // namespace

nlohmann::json run_embed(const EmbedRequest& request) {
  require(!request.out_dir.empty(), "--out DIR is required: the folder for the .npy files");
  require(request.split == "test" || request.split == "train",
          "--split '" + request.split + "': use test or train");
  require(request.limit >= 0, "--limit must be >= 0 (0: every image)");
  const FeatureLabel label = parse_feature_label(request.label);
  const Checkpoint checkpoint = load_checkpoint(request.checkpoint_path);
  TrainConfig config =
      evaluation_config(checkpoint, request.checkpoint_path, request.data_dir, request.device);
  config.probe = false;
  validate_config(config, ConfigUse::kEvaluate);
  const auto sets = layer_sets(request.layers, config_hidden_layers(config));
  const int num_labels = config_task_labels(config);
  // Labels in the input: a labelled task, and not bp-ce (as Evaluator::classifies_slowly).
  const bool labelled = num_labels >= 2 && config.algo != Algo::kBpCe;
  require(label.kind == FeatureLabel::kNeutral || labelled,
          "--label " + request.label + ": this network's input carries no label (" +
              enum_name(config.algo) + ", " + task_name(config.task) + "); use --label neutral");
  require(label.kind != FeatureLabel::kFixed || label.fixed < num_labels,
          "--label " + request.label + ": the " + task_name(config.task) + " task has " +
              std::to_string(num_labels) + " labels (0 to " + std::to_string(num_labels - 1) + ")");

  std::unique_ptr<Backend> backend = make_backend(enum_name(config.device));
  Dataset dataset = load_run_dataset(config);
  ImageSet& host_split = request.split == "test" ? dataset.test : dataset.train;
  limit_images(host_split, static_cast<size_t>(request.limit), dataset.pixels());
  Trainer trainer(*backend, config, dataset);
  const int epochs = restore_training_checkpoint(checkpoint, request.checkpoint_path,
                                                 trainer.model(), config, false);
  ResidentSplit& split = request.split == "test" ? trainer.test_split() : trainer.train_split();
  std::filesystem::create_directories(request.out_dir);
  std::printf("embedding %zu %s images of %s (%s, %s, %d epochs) with the %s label on %s\n",
              split.count, request.split.c_str(), request.checkpoint_path.c_str(),
              enum_name(config.algo).c_str(), task_name(config.task).c_str(), epochs,
              request.label.c_str(), backend->name().c_str());

  const uint64_t count = split.count;
  nlohmann::json meta{{"schema", kSchemaVersion},
                      {"ffcuda", version_line()},
                      {"checkpoint", request.checkpoint_path},
                      {"pretrain_epochs", epochs},
                      {"dataset", config.dataset},
                      {"classes", config.classes},
                      {"num_classes", dataset.num_classes},
                      {"task", task_name(config.task)},
                      {"algo", enum_name(config.algo)},
                      {"network", config.layers_spec},
                      {"split", request.split},
                      {"label", request.label},
                      {"count", count},
                      {"device", backend->name()},
                      {"config", config_to_json(config)}};
  const bool pretext = label.kind == FeatureLabel::kTrue && task_is_transform(config.task);
  for (const auto& [name, layers] : sets) {
    Array<int32_t> task_labels;
    const Array<float> features = trainer.evaluator().extract_features(
        split, layers, label, pretext && name == sets.front().first ? &task_labels : nullptr);
    const uint64_t width = features.size() / std::max<uint64_t>(count, 1);
    const std::string file = "features_" + name + ".npy";
    write_npy(request.out_dir + "/" + file, features.download(), {count, width});
    std::vector<int> one_based;
    for (int l : layers) one_based.push_back(l + 1);
    meta["features"].push_back({{"file", file}, {"layers", one_based}, {"width", width}});
    if (task_labels.size()) {
      const std::vector<int32_t> drawn = task_labels.download();
      write_npy(request.out_dir + "/pretext_labels.npy",
                std::vector<int64_t>(drawn.begin(), drawn.end()), {count});
      meta["pretext_labels"] = "pretext_labels.npy";
    }
    std::printf("  %s: [%llu x %llu]\n", file.c_str(), static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(width));
  }
  write_npy(request.out_dir + "/labels.npy",
            std::vector<int64_t>(host_split.labels.begin(), host_split.labels.end()), {count});
  meta["labels"] = "labels.npy";
  write_file_atomically(request.out_dir + "/meta.json", meta.dump(2) + "\n");
  std::printf("wrote %s/meta.json\n", request.out_dir.c_str());
  return meta;
}

}  // namespace ff
