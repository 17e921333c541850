// Parsing and serialisation of TrainConfig.
#include "ff/config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <sstream>
#include <type_traits>

#include "ff/dataset.hpp"
#include "ff/error.hpp"

namespace ff {

namespace {

int parse_positive(const std::string& text, const std::string& what) {
  size_t used = 0;
  int value = 0;
  try {
    value = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || value <= 0) {
    throw Error("bad " + what + " '" + text + "': expected a positive integer");
  }
  return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) parts.push_back(part);
  return parts;
}

// A float field as the double with the same shortest decimal form, so result.json says
// "lr": 0.001 rather than 0.0010000000474974513 (the float widened). Reading it back into a
// float gives the same float: the shortest form round-trips.
double json_number(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text - 1, value).ptr;
  *end = '\0';
  return std::strtod(text, nullptr);
}

std::string format_float(float value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", static_cast<double>(value));
  return text;
}

void require_positive_finite(float value, const char* option) {
  require(std::isfinite(value) && value > 0.0f,
          std::string(option) + " must be a positive number; got " + format_float(value));
}

// Runs `check`, naming `option` in the message of the ff::Error it throws.
template <class Check>
void prefixed(const char* option, const Check& check) {
  try {
    check();
  } catch (const Error& e) {
    throw Error(std::string(option) + ": " + e.what());
  }
}

}  // namespace

std::vector<int> parse_layers(const std::string& spec, int input_width) {
  const std::string usage = " (use LxN such as 4x2000, or a list such as 784,2000,2000)";
  const size_t x = spec.find('x');
  std::vector<int> widths;
  if (x != std::string::npos) {
    const int count = parse_positive(spec.substr(0, x), "--layers count" + usage);
    const int width = parse_positive(spec.substr(x + 1), "--layers width" + usage);
    widths.assign(static_cast<size_t>(count), width);
  } else {
    for (const std::string& part : split(spec, ',')) {
      widths.push_back(parse_positive(part, "--layers entry" + usage));
    }
    if (widths.size() >= 2 && widths.front() == input_width) widths.erase(widths.begin());
  }
  require(!widths.empty(), "--layers '" + spec + "' names no hidden layer" + usage);
  return widths;
}

std::vector<int> parse_classes(const std::string& spec, int num_classes) {
  if (spec.empty()) return {};
  std::vector<int> classes;
  for (const std::string& part : split(spec, ',')) {
    const int value = part == "0" ? 0 : parse_positive(part, "--classes entry in '" + spec + "'");
    require(value < num_classes, "--classes " + spec + ": class " + part + " does not exist (the " +
                                     "dataset has classes 0 to " + std::to_string(num_classes - 1) +
                                     ")");
    require(std::find(classes.begin(), classes.end(), value) == classes.end(),
            "--classes " + spec + " names class " + part + " twice");
    classes.push_back(value);
  }
  require(classes.size() >= 2, "--classes " + spec + ": name at least two classes");
  return classes;
}

std::vector<int> parse_score_layers(const std::string& spec, int num_layers) {
  std::vector<int> layers;
  if (spec == "default") {
    for (int l = num_layers > 1 ? 1 : 0; l < num_layers; ++l) layers.push_back(l);
  } else if (spec == "all") {
    for (int l = 0; l < num_layers; ++l) layers.push_back(l);
  } else if (spec.rfind("last", 0) == 0) {
    // A network shallower than N gives all its layers: "last3" of a 2-layer net is both layers.
    const int count =
        std::min(num_layers, parse_positive(spec.substr(4), "layer selection '" + spec + "'"));
    for (int l = num_layers - count; l < num_layers; ++l) layers.push_back(l);
  } else {
    for (const std::string& part : split(spec, ',')) {
      const int layer = parse_positive(part, "layer number in '" + spec + "' (1-based)");
      require(layer <= num_layers, "layer " + std::to_string(layer) + " in '" + spec +
                                       "' does not exist: the network has " +
                                       std::to_string(num_layers) + " hidden layers");
      layers.push_back(layer - 1);
    }
  }
  require(!layers.empty(), "layer selection '" + spec + "' selects no layer");
  return layers;
}

bool resolve_graphs(GraphsMode mode, bool cuda_backend) {
  if (mode == GraphsMode::kOff) return false;
  if (mode == GraphsMode::kAuto) return cuda_backend;
  require(cuda_backend,
          "--graphs on needs the CUDA backend (the CPU runs ops as they are issued); use "
          "--graphs off or auto, or --device cuda");
  return true;
}

std::pair<int64_t, int64_t> parse_profile_steps(const std::string& spec) {
  if (spec.empty()) return {-1, -1};
  const size_t colon = spec.find(':');
  require(colon != std::string::npos, "--profile-steps '" + spec + "': expected A:B, e.g. 100:110");
  const std::string first = spec.substr(0, colon), last = spec.substr(colon + 1);
  const int64_t begin = first == "0" ? 0 : parse_positive(first, "--profile-steps start");
  const int64_t end = parse_positive(last, "--profile-steps end");
  require(begin < end, "--profile-steps '" + spec + "': the start must come before the end");
  return {begin, end};
}

float layer_threshold(const TrainConfig& config, int width) {
  if (config.threshold >= 0.0f) return config.threshold;
  return config.goodness == GoodnessMode::kSum ? static_cast<float>(width) : 2.0f;
}

std::vector<int> scoring_layers(const TrainConfig& config, int num_layers) {
  const bool last_only = config.score_layers == "default" && config.algo == Algo::kBpGoodnessLast;
  return parse_score_layers(last_only ? "last1" : config.score_layers, num_layers);
}

int config_hidden_layers(const TrainConfig& c) {
  return static_cast<int>(parse_layers(c.layers_spec, dataset_layout(c.dataset).pixels()).size());
}

int config_task_labels(const TrainConfig& c) {
  const Dataset layout = dataset_layout(c.dataset);
  const std::vector<int> classes = parse_classes(c.classes, layout.num_classes);
  return task_num_labels(c.task,
                         classes.empty() ? layout.num_classes : static_cast<int>(classes.size()));
}

void require_task_fits(const TrainConfig& c, int height, int width, int num_labels) {
  require(num_labels >= 2 || c.task == Task::kUnsupervised, "the task needs at least two labels");
  require(c.algo != Algo::kBpCe || num_labels >= 2,
          "--algo bp-ce needs a task with labels (not --task unsupervised)");
  require(c.task != Task::kRotation || height == width,
          "--task rotation needs square images; " + c.dataset + "'s are " + std::to_string(height) +
              "x" + std::to_string(width));
  require(c.task != Task::kJigsaw || (height % 2 == 0 && width % 2 == 0),
          "--task jigsaw needs an even image height and width (2x2 patches)");
  require(num_labels <= height * width,
          "the task's " + std::to_string(num_labels) + " labels do not fit in the first channel");
}

void validate_config(const TrainConfig& c, ConfigUse use) {
  const bool training = use == ConfigUse::kTrain;
  const Dataset layout = dataset_layout(c.dataset);
  const int layers = config_hidden_layers(c);
  require(c.train_limit >= 0,
          "--train-limit must be >= 0 (0: every image); got " + std::to_string(c.train_limit));
  require(c.test_limit >= 0,
          "--test-limit must be >= 0 (0: every image); got " + std::to_string(c.test_limit));
  require(c.train_limit == 0 || c.train_limit >= c.batch,
          "--train-limit " + std::to_string(c.train_limit) + " is fewer images than one batch of " +
              std::to_string(c.batch) + "; lower --batch or raise --train-limit");
  require(std::isfinite(c.threshold) && (c.threshold >= 0.0f || c.threshold == kDefaultThreshold),
          "--threshold must be a finite number >= 0 (leave it out for the default: the layer "
          "width for sum goodness, 2 for mean); got " +
              format_float(c.threshold));
  // A batch's rows (2B, or C*B in evaluation) are counted in int: far below that limit.
  require(c.batch > 0 && c.batch <= kMaxBatch, "--batch must be between 1 and " +
                                                   std::to_string(kMaxBatch) + "; got " +
                                                   std::to_string(c.batch));
  require(c.eval_batch > 0 && c.eval_batch <= kMaxBatch, "--eval-batch must be between 1 and " +
                                                             std::to_string(kMaxBatch) + "; got " +
                                                             std::to_string(c.eval_batch));
  if (training) {  // what only training reads (a probe or an embedding of a checkpoint does not)
    require(c.epochs >= 0, "--epochs must be >= 0; got " + std::to_string(c.epochs));
    require_positive_finite(c.lr, "--lr");
    require(c.optimizer != OptimizerKind::kSgd ||
                (std::isfinite(c.momentum) && c.momentum >= 0.0f && c.momentum < 1.0f),
            "--momentum must be in [0, 1); got " + format_float(c.momentum));
    parse_profile_steps(c.profile_steps);
    require(c.eval_every >= 0, "--eval-every must be >= 0 (0: evaluate only at the end); got " +
                                   std::to_string(c.eval_every));
    require(c.fast_epochs >= 0, "--fast-epochs must be >= 0 (0: no fast classifier); got " +
                                    std::to_string(c.fast_epochs));
    if (c.fast_epochs > 0) require_positive_finite(c.fast_lr, "--fast-lr");
    require(c.save_every >= 0, "--save-every must be >= 0; got " + std::to_string(c.save_every));
    require(c.save_every == 0 || !c.save_path.empty(),
            "--save-every needs --save PATH (where to write the checkpoint)");
    require(std::isfinite(c.save_interval_s) && c.save_interval_s >= 0.0,
            "--save-interval must be a number of seconds >= 0; got " +
                format_float(static_cast<float>(c.save_interval_s)));
    // Where the run writes, checked now rather than after hours of training.
    std::error_code error;
    require(c.out_dir.empty() || !std::filesystem::exists(c.out_dir, error) ||
                std::filesystem::is_directory(c.out_dir, error),
            "--out " + c.out_dir + " is a file, not a folder; name a folder (it is created)");
    if (!c.save_path.empty()) {
      const std::filesystem::path save(c.save_path);
      require(!std::filesystem::is_directory(save, error),
              "--save " + c.save_path + " is a folder; name the checkpoint file, e.g. " +
                  (save / "run.safetensors").string());
      // Its folder is created when missing; an ancestor that is a file would make that fail.
      std::filesystem::path folder = save.parent_path();
      while (!folder.empty() && !std::filesystem::exists(folder, error) &&
             folder != folder.parent_path()) {
        folder = folder.parent_path();
      }
      require(folder.empty() || std::filesystem::is_directory(folder, error),
              "--save " + c.save_path + ": " + folder.string() +
                  " is a file, so the checkpoint's folder cannot be made; name another path");
    }
  }
  prefixed("--score-layers", [&] { scoring_layers(c, layers); });
  if (c.probe) {
    require(c.probe_epochs > 0,
            "--probe-epochs must be positive; got " + std::to_string(c.probe_epochs));
    require_positive_finite(c.probe_lr, "--probe-lr");
    if (c.probe_layers != kEachLayer) {
      prefixed("--probe-layers", [&] { parse_score_layers(c.probe_layers, layers); });
    }
  }
  if (training) {
    if (c.track_linear) require_positive_finite(c.track_lr, "--track-lr");
    require(c.negatives != NegativesMode::kHard || c.track_linear,
            "--negatives hard draws each negative's label from the linear classifier trained "
            "alongside: add --track-linear");
    require(c.negatives != NegativesMode::kHard || c.task == Task::kSupervised,
            "--negatives hard needs --task supervised (the classifier trained alongside predicts "
            "the classes, which are the labels only of the supervised task)");
    require(c.negatives != NegativesMode::kHard || c.algo != Algo::kBpCe,
            "--negatives hard needs an algorithm with negatives (ff, bp-goodness-last or "
            "bp-goodness-all), not bp-ce");
    require(std::isfinite(c.peer_norm) && c.peer_norm >= 0.0f,
            "--peer-norm must be a number >= 0 (0: off; 0.03 is the common value); got " +
                format_float(c.peer_norm));
    require(c.peer_norm == 0.0f || c.algo == Algo::kFf,
            "--peer-norm applies to Forward-Forward layers: use it with --algo ff");
  }
  require_task_fits(c, layout.height, layout.width, config_task_labels(c));
  require(!(c.graphs == GraphsMode::kOn && c.device == DeviceChoice::kCpu),
          "--graphs on needs the CUDA backend (the CPU runs ops as they are issued); use "
          "--graphs off or auto, or --device cuda");
}

nlohmann::json config_to_json(const TrainConfig& c) {
  return nlohmann::json{
      {"dataset", c.dataset},
      {"data_dir", c.data_dir},
      {"task", enum_name(c.task)},
      {"train_limit", c.train_limit},
      {"test_limit", c.test_limit},
      {"classes", c.classes},
      {"layers", c.layers_spec},
      {"algo", enum_name(c.algo)},
      {"goodness", enum_name(c.goodness)},
      {"threshold", json_number(c.threshold)},
      {"loss", enum_name(c.loss)},
      {"negatives", enum_name(c.negatives)},
      {"peer_norm", json_number(c.peer_norm)},
      {"epochs", c.epochs},
      {"batch", c.batch},
      {"lr", json_number(c.lr)},
      {"optimizer", enum_name(c.optimizer)},
      {"momentum", json_number(c.momentum)},
      {"seed", c.seed},
      {"reuse_layer1", c.reuse_layer1},
      {"precision", enum_name(c.precision)},
      {"pass_mode", enum_name(c.pass_mode)},
      {"overlap", c.overlap},
      {"graphs", enum_name(c.graphs)},
      {"score_layers", c.score_layers},
      {"eval_every", c.eval_every},
      {"eval_batch", c.eval_batch},
      {"fast_epochs", c.fast_epochs},
      {"fast_lr", json_number(c.fast_lr)},
      {"test_seed", c.test_seed},
      {"probe", c.probe},
      {"probe_epochs", c.probe_epochs},
      {"probe_lr", json_number(c.probe_lr)},
      {"probe_layers", c.probe_layers},
      {"track_linear", c.track_linear},
      {"track_lr", json_number(c.track_lr)},
      {"device", enum_name(c.device)},
  };
}

namespace {

template <class E>
E enum_field(const nlohmann::json& j, const char* key) {
  return parse_enum<E>(j.at(key).get<std::string>());
}

template <class E>
E enum_field_or(const nlohmann::json& j, const char* key, E fallback) {
  return j.contains(key) ? enum_field<E>(j, key) : fallback;
}

// A number field read exactly into T: an integer field must hold an integer in T's range, a
// float field a finite value in float's range. (A plain conversion of 1e65 to int is undefined
// behaviour, and a file from elsewhere may hold anything; found by fuzzing.)
template <class T>
T number_field(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  const std::string where = std::string("config field '") + key + "'";
  if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) {
      const uint64_t u = v.get<uint64_t>();
      require(u <= static_cast<uint64_t>(std::numeric_limits<T>::max()),
              where + " is out of range: " + v.dump());
      return static_cast<T>(u);
    }
    require(v.is_number_integer(), where + " must be an integer, not " + v.dump());
    const int64_t i = v.get<int64_t>();
    require(i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                (i < 0 ||
                 static_cast<uint64_t>(i) <= static_cast<uint64_t>(std::numeric_limits<T>::max())),
            where + " is out of range: " + v.dump());
    return static_cast<T>(i);
  } else {
    require(v.is_number(), where + " must be a number, not " + v.dump());
    const double d = v.get<double>();
    require(std::isfinite(d) && std::fabs(d) <= std::numeric_limits<float>::max(),
            where + " is out of range: " + v.dump());
    return static_cast<T>(d);
  }
}

}  // namespace

TrainConfig config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  try {
    c.dataset = j.at("dataset");
    c.data_dir = j.at("data_dir");
    c.task = enum_field<Task>(j, "task");
    c.train_limit = number_field<int64_t>(j, "train_limit");
    c.test_limit = number_field<int64_t>(j, "test_limit");
    c.layers_spec = j.at("layers");
    c.algo = enum_field<Algo>(j, "algo");
    c.goodness = enum_field<GoodnessMode>(j, "goodness");
    c.threshold = number_field<float>(j, "threshold");
    // Any negative threshold meant the default to the builds that wrote such checkpoints.
    if (c.threshold < 0.0f) c.threshold = kDefaultThreshold;
    c.loss = enum_field<FfLossKind>(j, "loss");
    c.epochs = number_field<int>(j, "epochs");
    c.batch = number_field<int>(j, "batch");
    c.lr = number_field<float>(j, "lr");
    c.optimizer = enum_field<OptimizerKind>(j, "optimizer");
    c.momentum = number_field<float>(j, "momentum");
    c.seed = number_field<uint64_t>(j, "seed");
    // Fields added after the first checkpoints: absent means the value those runs had.
    c.reuse_layer1 = j.value("reuse_layer1", true);
    c.classes = j.value("classes", "");
    c.precision = enum_field_or(j, "precision", GemmPrecision::kFp32);
    c.pass_mode = enum_field_or(j, "pass_mode", PassMode::kStacked);
    c.overlap = j.value("overlap", true);
    c.graphs = enum_field_or(j, "graphs", GraphsMode::kAuto);
    c.score_layers = j.at("score_layers");
    c.eval_every = number_field<int>(j, "eval_every");
    c.eval_batch = number_field<int>(j, "eval_batch");
    c.fast_epochs = number_field<int>(j, "fast_epochs");
    c.fast_lr = number_field<float>(j, "fast_lr");
    c.test_seed = number_field<uint64_t>(j, "test_seed");
    c.probe = j.at("probe");
    c.probe_epochs = number_field<int>(j, "probe_epochs");
    c.probe_lr = number_field<float>(j, "probe_lr");
    c.probe_layers = j.at("probe_layers");
    c.device = enum_field<DeviceChoice>(j, "device");
    c.negatives = enum_field_or(j, "negatives", NegativesMode::kRandom);
    if (j.contains("peer_norm")) c.peer_norm = number_field<float>(j, "peer_norm");
    c.track_linear = j.value("track_linear", false);
    if (j.contains("track_lr")) c.track_lr = number_field<float>(j, "track_lr");
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed configuration: ") + e.what());
  } catch (const Error& e) {
    throw Error(std::string("configuration: ") + e.what() +
                " (written by another ffcuda version? run it with the version that wrote it)");
  }
  return c;
}

}  // namespace ff
