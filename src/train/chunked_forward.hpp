// The forward pass of evaluation, one chunk of images at a time: batch prep, the input's RMS
// norm, then per layer the GEMM (or layer-1 reuse across labels) and the norm the next layer
// reads. Slow classification, the bp-ce head and feature extraction differ only in what they read
// after each layer and after the chunk, given as hooks.
#pragma once

#include <cstddef>
#include <functional>

#include "ff/backend.hpp"
#include "ff/network.hpp"
#include "ff/resident_split.hpp"

namespace ff {

struct ForwardPlan {
  LabelMode mode = LabelMode::kNone;  // rows per image: C for kAllCandidates, 2 for
                                      // kPositiveNegative, else 1
  uint64_t seed = 0;
  bool apply_transform = true;
  bool reuse_layer1 = false;    // kAllCandidates: one layer-1 GEMM per image, labels swapped in
  int last_layer = 0;           // the forward stops after this layer
  bool normalise_last = false;  // also the norm of the last layer's output (the head's input)
  bool task_labels = false;     // write the chunk's task labels (else prep gets none)
  int eval_batch = 1000;        // images per chunk
};

// What a hook sees of the chunk under way.
struct ForwardChunk {
  size_t start = 0;  // first image of the chunk
  int images = 0, rows = 0;
  const float* xn = nullptr;             // the normalised output of the last layer run
  const int32_t* task_labels = nullptr;  // [images], when the plan asks for them
};

struct ForwardHooks {
  std::function<void(const ForwardChunk&)> begin_chunk;  // after the input's norm
  std::function<void(const ForwardChunk&, int layer, const float* h)> after_layer;
  std::function<void(const ForwardChunk&)> end_chunk;
};

// Buffers for chunks of `plan.eval_batch` images of `split`, allocated once per call of run.
void run_chunked_forward(Backend& backend, const Mlp& network, const ResidentSplit& split,
                         const TaskShape& shape, const ForwardPlan& plan,
                         const ForwardHooks& hooks);

}  // namespace ff
