// Everything a run is configured by. Defaults are SPEC.md's. Serialised whole into result.json
// and checkpoints, so a result always says how it was obtained.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "ff/gemm.hpp"
#include "ff/ops.hpp"
#include "ff/task.hpp"

namespace ff {

struct TrainConfig {
  // data
  std::string dataset = "mnist";
  std::string data_dir;  // empty: data/<dataset>
  Task task = Task::kSupervised;
  size_t train_limit = 0, test_limit = 0;  // 0 = all
  // network: hidden widths (the input width comes from the dataset)
  std::string layers_spec = "4x2000";
  // FF loss
  std::string algo = "ff";
  GoodnessMode goodness = GoodnessMode::kSum;
  float threshold = -1.0f;  // < 0: the default (the width for sum goodness, 2 for mean)
  FfLossKind loss = FfLossKind::kSoftplus;
  // optimisation
  int epochs = 60;
  int batch = 100;
  float lr = 1e-3f;
  std::string optimizer = "adam";  // adam | sgd
  float momentum = 0.9f;
  uint64_t seed = 0;
  // Layer 1 computed once per image for rows that differ only by their label (training and slow
  // evaluation); off = the plain GEMM over every row (same result up to rounding).
  bool reuse_layer1 = true;
  std::string precision = "fp32";  // GEMM arithmetic: fp32 | tf32 (CUDA) | bf16
  // FF training step on CUDA (results equal up to GEMM rounding; the CPU runs every plan serially):
  std::string pass_mode = "stacked";  // stacked: one [2B x D] GEMM per layer; streams: B-row
                                      // positive and negative GEMMs on two streams
  bool overlap = true;                // layer l's weight gradient on its own stream, overlapping
                                      // the forward of layer l+1
  std::string graphs = "auto";        // on | off | auto (on for CUDA): replay a captured step
  std::string profile_steps;       // "A:B": profiler capture of global steps [A, B)
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
  std::string probe_layers = "last3";  // lastN | all | 1,3,...
  // where
  std::string device = "auto";
  std::string out_dir;
  // checkpoints
  std::string save_path;    // --save: written at the end (and every save_every epochs)
  int save_every = 0;
  std::string resume_path;  // --resume: continue a run from its checkpoint
};

// Parses "LxN" (L layers of N units) or a comma list of widths. A list whose first entry equals the
// input width (e.g. "784,2000,2000" for MNIST) names the input too, as SPEC.md writes it. Throws
// ff::Error on anything else.
std::vector<int> parse_layers(const std::string& spec, int input_width);

// 0-based indices of the layers a selection names in a network of `num_layers` hidden layers:
// "default" (all but the first), "all", "lastN" (at most all layers), or a 1-based list "1,3".
std::vector<int> parse_score_layers(const std::string& spec, int num_layers);

float layer_threshold(const TrainConfig& config, int width);

GemmPrecision parse_precision(const std::string& name);  // fp32 | tf32 | bf16, else ff::Error
// --pass-mode: true for "streams", false for "stacked", else ff::Error.
bool parse_pass_mode_streams(const std::string& name);
// --graphs on|off|auto -> whether a training step is captured, given the backend kind
// (auto: on for CUDA, off for the CPU; on with the CPU backend is an ff::Error).
bool parse_graphs(const std::string& name, bool cuda_backend);
// "A:B" -> {A, B} with 0 <= A < B; "" -> {-1, -1} (no capture). Throws ff::Error otherwise.
std::pair<int64_t, int64_t> parse_profile_steps(const std::string& spec);

nlohmann::json config_to_json(const TrainConfig& config);
// The inverse of config_to_json (for checkpoints). Throws ff::Error on a malformed object.
TrainConfig config_from_json(const nlohmann::json& json);

}  // namespace ff
