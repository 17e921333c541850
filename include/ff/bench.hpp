// `ffcuda bench`: steady-state timing of the training step and of slow evaluation for a config,
// on synthetic images of the dataset's shape (no dataset files needed).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "ff/config.hpp"

namespace ff {

struct BenchConfig {
  TrainConfig train;       // layers, batch, algo, dataset (for the image shape), device
  int warmup = 5;          // steps before timing
  int iterations = 30;     // timed steps (median, spread)
  int eval_images = 1000;  // images of the slow-evaluation benchmark
  std::string json_path;   // also write the JSON here (atomically)
};

// Prints a table and returns the JSON record (device, config, step and GEMM times, TFLOP/s,
// per-phase split, slow evaluation).
nlohmann::json run_bench(const BenchConfig& bench);

}  // namespace ff
