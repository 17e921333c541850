// Parsing and serialisation of TrainConfig.
#include "ff/config.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>

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

std::vector<int> parse_score_layers(const std::string& spec, int num_layers) {
  std::vector<int> layers;
  if (spec == "default") {
    for (int l = num_layers > 1 ? 1 : 0; l < num_layers; ++l) layers.push_back(l);
  } else if (spec == "all") {
    for (int l = 0; l < num_layers; ++l) layers.push_back(l);
  } else if (spec.rfind("last", 0) == 0) {
    // A network shallower than N gives all its layers: "last3" of a 2-layer net is both layers.
    const int count = std::min(num_layers, parse_positive(spec.substr(4), "layer selection '" + spec + "'"));
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

GemmPrecision parse_precision(const std::string& name) {
  if (name == "fp32") return GemmPrecision::kFp32;
  if (name == "tf32") return GemmPrecision::kTf32;
  if (name == "bf16") return GemmPrecision::kBf16;
  throw Error("unknown --precision '" + name + "': use fp32, tf32 or bf16");
}

bool parse_pass_mode_streams(const std::string& name) {
  if (name == "streams") return true;
  if (name == "stacked") return false;
  throw Error("unknown --pass-mode '" + name + "': use stacked or streams");
}

bool parse_graphs(const std::string& name, bool cuda_backend) {
  if (name == "off") return false;
  if (name == "auto") return cuda_backend;
  require(name == "on", "unknown --graphs '" + name + "': use on, off or auto");
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

nlohmann::json config_to_json(const TrainConfig& c) {
  return nlohmann::json{
      {"dataset", c.dataset},
      {"data_dir", c.data_dir},
      {"task", task_name(c.task)},
      {"train_limit", c.train_limit},
      {"test_limit", c.test_limit},
      {"layers", c.layers_spec},
      {"algo", c.algo},
      {"goodness", c.goodness == GoodnessMode::kSum ? "sum" : "mean"},
      {"threshold", json_number(c.threshold)},
      {"loss", c.loss == FfLossKind::kSoftplus ? "softplus" : "symba"},
      {"epochs", c.epochs},
      {"batch", c.batch},
      {"lr", json_number(c.lr)},
      {"optimizer", c.optimizer},
      {"momentum", json_number(c.momentum)},
      {"seed", c.seed},
      {"reuse_layer1", c.reuse_layer1},
      {"precision", c.precision},
      {"pass_mode", c.pass_mode},
      {"overlap", c.overlap},
      {"graphs", c.graphs},
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
      {"device", c.device},
  };
}

TrainConfig config_from_json(const nlohmann::json& j) {
  TrainConfig c;
  try {
    c.dataset = j.at("dataset");
    c.data_dir = j.at("data_dir");
    c.task = parse_task(j.at("task"));
    c.train_limit = j.at("train_limit");
    c.test_limit = j.at("test_limit");
    c.layers_spec = j.at("layers");
    c.algo = j.at("algo");
    c.goodness = j.at("goodness") == "mean" ? GoodnessMode::kMean : GoodnessMode::kSum;
    c.threshold = j.at("threshold");
    c.loss = j.at("loss") == "symba" ? FfLossKind::kSymba : FfLossKind::kSoftplus;
    c.epochs = j.at("epochs");
    c.batch = j.at("batch");
    c.lr = j.at("lr");
    c.optimizer = j.at("optimizer");
    c.momentum = j.at("momentum");
    c.seed = j.at("seed");
    c.reuse_layer1 = j.value("reuse_layer1", true);
    c.precision = j.value("precision", "fp32");
    c.pass_mode = j.value("pass_mode", "stacked");
    c.overlap = j.value("overlap", true);
    c.graphs = j.value("graphs", "auto");
    c.score_layers = j.at("score_layers");
    c.eval_every = j.at("eval_every");
    c.eval_batch = j.at("eval_batch");
    c.fast_epochs = j.at("fast_epochs");
    c.fast_lr = j.at("fast_lr");
    c.test_seed = j.at("test_seed");
    c.probe = j.at("probe");
    c.probe_epochs = j.at("probe_epochs");
    c.probe_lr = j.at("probe_lr");
    c.probe_layers = j.at("probe_layers");
    c.device = j.at("device");
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("malformed configuration: ") + e.what());
  }
  return c;
}

}  // namespace ff
