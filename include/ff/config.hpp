// Everything a run is configured by (docs/what-it-computes.md). Serialised whole into result.json
// and checkpoints, so a result always says how it was obtained. Every choice among names is an
// enum with one name table (ff/enum_names.hpp) shared by the CLI and the JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "ff/enum_names.hpp"
#include "ff/gemm.hpp"
#include "ff/ops.hpp"
#include "ff/task.hpp"

namespace ff {

// --algo: Forward-Forward, or one of the backprop baselines (docs/what-it-computes.md).
enum class Algo { kFf, kBpCe, kBpGoodnessLast, kBpGoodnessAll };
enum class OptimizerKind { kAdam, kSgd };
// The FF step's forward on CUDA: one [2B x D] GEMM per layer, or B-row positive and negative GEMMs
// on two streams (equal results up to GEMM rounding; the CPU runs both plans serially).
enum class PassMode { kStacked, kStreams };
enum class GraphsMode { kOn, kOff, kAuto };  // auto: on for CUDA, off for the CPU
enum class DeviceChoice { kAuto, kCuda, kCpu };
// --negatives: the label a negative carries, uniform over the wrong ones, or drawn from the
// opinion of the linear classifier trained alongside (Hinton's hard negatives).
enum class NegativesMode { kRandom, kHard };

template <>
struct NameTable<Algo> {
  static constexpr const char* option = "--algo";
  static constexpr NamedValue<Algo> entries[] = {{Algo::kFf, "ff"},
                                                 {Algo::kBpCe, "bp-ce"},
                                                 {Algo::kBpGoodnessLast, "bp-goodness-last"},
                                                 {Algo::kBpGoodnessAll, "bp-goodness-all"}};
};
template <>
struct NameTable<Task> {
  static constexpr const char* option = "--task";
  static constexpr NamedValue<Task> entries[] = {
      {Task::kSupervised, "supervised"}, {Task::kRotation, "rotation"},
      {Task::kFlipH, "flip-h"},          {Task::kFlipHV, "flip-hv"},
      {Task::kJigsaw, "jigsaw"},         {Task::kUnsupervised, "unsupervised"}};
};
template <>
struct NameTable<OptimizerKind> {
  static constexpr const char* option = "--optimizer";
  static constexpr NamedValue<OptimizerKind> entries[] = {{OptimizerKind::kAdam, "adam"},
                                                          {OptimizerKind::kSgd, "sgd"}};
};
template <>
struct NameTable<GemmPrecision> {
  static constexpr const char* option = "--precision";
  static constexpr NamedValue<GemmPrecision> entries[] = {{GemmPrecision::kFp32, "fp32"},
                                                          {GemmPrecision::kTf32, "tf32"},
                                                          {GemmPrecision::kBf16, "bf16"}};
};
template <>
struct NameTable<PassMode> {
  static constexpr const char* option = "--pass-mode";
  static constexpr NamedValue<PassMode> entries[] = {{PassMode::kStacked, "stacked"},
                                                     {PassMode::kStreams, "streams"}};
};
template <>
struct NameTable<GraphsMode> {
  static constexpr const char* option = "--graphs";
  static constexpr NamedValue<GraphsMode> entries[] = {
      {GraphsMode::kOn, "on"}, {GraphsMode::kOff, "off"}, {GraphsMode::kAuto, "auto"}};
};
template <>
struct NameTable<GoodnessMode> {
  static constexpr const char* option = "--goodness";
  static constexpr NamedValue<GoodnessMode> entries[] = {{GoodnessMode::kSum, "sum"},
                                                         {GoodnessMode::kMean, "mean"}};
};
template <>
struct NameTable<FfLossKind> {
  static constexpr const char* option = "--loss";
  static constexpr NamedValue<FfLossKind> entries[] = {{FfLossKind::kSoftplus, "softplus"},
                                                       {FfLossKind::kSymba, "symba"}};
};
template <>
struct NameTable<DeviceChoice> {
  static constexpr const char* option = "--device";
  static constexpr NamedValue<DeviceChoice> entries[] = {
      {DeviceChoice::kAuto, "auto"}, {DeviceChoice::kCuda, "cuda"}, {DeviceChoice::kCpu, "cpu"}};
};

template <>
struct NameTable<NegativesMode> {
  static constexpr const char* option = "--negatives";
  static constexpr NamedValue<NegativesMode> entries[] = {{NegativesMode::kRandom, "random"},
                                                          {NegativesMode::kHard, "hard"}};
};

// The threshold value that means "the default" (the width for sum goodness, 2 for mean).
inline constexpr float kDefaultThreshold = -1.0f;

struct TrainConfig {
  // data
  std::string dataset = "mnist";
  std::string data_dir;  // empty: data/<dataset>
  Task task = Task::kSupervised;
  int64_t train_limit = 0, test_limit = 0;  // 0 = all (counted after --classes)
  std::string classes;  // "0,1": only these classes, renumbered 0..n-1 in this order ("": all)
  // network: hidden widths (the input width comes from the dataset)
  std::string layers_spec = "4x2000";
  // FF loss
  Algo algo = Algo::kFf;
  GoodnessMode goodness = GoodnessMode::kSum;
  float threshold = kDefaultThreshold;
  FfLossKind loss = FfLossKind::kSoftplus;
  NegativesMode negatives = NegativesMode::kRandom;  // hard: needs track_linear
  float peer_norm = 0.0f;  // lambda of peer normalisation (0: off; 0.03 is the common value)
  // optimisation
  int epochs = 60;
  int batch = 100;
  float lr = 1e-3f;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  float momentum = 0.9f;  // SGD only
  uint64_t seed = 0;
  // Layer 1 computed once per image for rows that differ only by their label (training and slow
  // evaluation); off = the plain GEMM over every row (same result up to rounding).
  bool reuse_layer1 = true;
  GemmPrecision precision = GemmPrecision::kFp32;  // fp32 | tf32 (CUDA) | bf16
  PassMode pass_mode = PassMode::kStacked;
  bool overlap = true;  // layer l's weight gradient on its own stream, overlapping layer l+1
  GraphsMode graphs = GraphsMode::kAuto;  // replay a captured step
  std::string profile_steps;              // "A:B": profiler capture of global steps [A, B)
  // evaluation
  std::string score_layers = "default";  // default (all but the first) | all | 1,3,...
  int eval_every = 0;                    // evaluate every N epochs (0: only at the end)
  int eval_batch = 1000;
  int fast_epochs = 10;  // epochs of the fast (linear softmax) classifier
  float fast_lr = 1e-3f;
  uint64_t test_seed = 12345;  // fixed seed of the test-set transforms
  // transfer: linear probe on the class labels over frozen features
  bool probe = false;
  int probe_epochs = 100;
  float probe_lr = 1e-3f;
  std::string probe_layers = "last3";  // lastN | all | 1,3,... | each (one probe per layer)
  // A linear softmax classifier trained alongside pretraining on the same batches (the scoring
  // layers' neutral-label features, its own Adam, no gradient into the network); its test
  // accuracy on the class labels is recorded every epoch.
  bool track_linear = false;
  float track_lr = 1e-3f;
  // where
  DeviceChoice device = DeviceChoice::kAuto;
  std::string out_dir;
  // checkpoints
  std::string save_path;  // --save: written at the end (and every save_every epochs)
  int save_every = 0;
  // With --save-every: a save is skipped when the last one was less than this many seconds ago
  // (short epochs); the last epoch is always saved. 0: every save_every epochs.
  double save_interval_s = 0.0;
  std::string resume_path;  // --resume: continue a run from its checkpoint
};

// Checks every option of `config` that can be checked without reading data: ranges, finite
// numbers, layer selections against the network's depth, the task against the dataset's image
// shape, graphs against the device. Throws ff::Error naming the option and what to do. Called
// before any data is loaded or any step runs.
// What `config` describes before any data is read (the dataset's shape from its name, --classes
// applied): the number of hidden layers, and the labels the task writes into the input.
int config_hidden_layers(const TrainConfig& config);
int config_task_labels(const TrainConfig& config);

// Throws ff::Error unless images of height x width carry the task of `config` with `num_labels`
// labels (the index maps of ff/task.hpp assume these shapes; all four datasets satisfy them).
// validate_config asks it of the named dataset's shape, the Trainer of the data it is given.
void require_task_fits(const TrainConfig& config, int height, int width, int num_labels);

enum class ConfigUse {
  kTrain,     // ffcuda train and bench: every option
  kEvaluate,  // a saved network probed or embedded: what evaluation reads (not lr, epochs, ...)
};
void validate_config(const TrainConfig& config, ConfigUse use = ConfigUse::kTrain);

// The largest --batch and --eval-batch accepted.
inline constexpr int kMaxBatch = 1000000;

// Parses "LxN" (L layers of N units) or a comma list of widths. A list whose first entry equals the
// input width (e.g. "784,2000,2000" for MNIST) names the input too, as the study writes it. Throws
// ff::Error on anything else.
std::vector<int> parse_layers(const std::string& spec, int input_width);

// --probe-layers each: one probe per single layer, then one over all of them.
inline constexpr const char* kEachLayer = "each";

// The classes "--classes 3,5,8" names, checked against a dataset of `num_classes`: at least two,
// each in [0, num_classes), none twice. "" -> {} (every class).
std::vector<int> parse_classes(const std::string& spec, int num_classes);

// 0-based indices of the layers a selection names in a network of `num_layers` hidden layers:
// "default" (all but the first), "all", "lastN" (at most all layers), or a 1-based list "1,3".
std::vector<int> parse_score_layers(const std::string& spec, int num_layers);
// The layers slow classification sums for `config` (bp-goodness-last's default is its last layer,
// the only one it trains).
std::vector<int> scoring_layers(const TrainConfig& config, int num_layers);

float layer_threshold(const TrainConfig& config, int width);

// Whether a training step is captured, given the backend kind (auto: on for CUDA, off for the
// CPU; on with the CPU backend is an ff::Error).
bool resolve_graphs(GraphsMode mode, bool cuda_backend);
// "A:B" -> {A, B} with 0 <= A < B; "" -> {-1, -1} (no capture). Throws ff::Error otherwise.
std::pair<int64_t, int64_t> parse_profile_steps(const std::string& spec);

// The version of the records ffcuda writes (result.json, metrics.jsonl, bench JSON) and of the
// metadata of its checkpoints. Raised when a field changes meaning or is removed; adding a field
// does not raise it. docs/results.md describes every field and the policy for other versions.
inline constexpr int kSchemaVersion = 1;

nlohmann::json config_to_json(const TrainConfig& config);
// The inverse of config_to_json (for checkpoints). Throws ff::Error on a malformed object or an
// unknown name (e.g. a goodness this build does not know).
TrainConfig config_from_json(const nlohmann::json& json);

}  // namespace ff
