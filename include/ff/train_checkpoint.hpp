// Saving and restoring a training run: weights, optimiser state, the epoch to continue from, and
// the config. Random draws are counter-based (Philox keyed by seed and epoch), so the epoch is the
// whole RNG position: a resumed run draws exactly what the uninterrupted run would have.
#pragma once

#include <string>

#include "ff/checkpoint.hpp"
#include "ff/config.hpp"
#include "ff/model.hpp"

namespace ff {

// Tensors: layers.<l>.weight [out, in], layers.<l>.bias [out] (what PyTorch users load), then
// optimizer.m / optimizer.v (flat, the parameter layout of Mlp); bp-ce's head.weight/bias with
// head_optimizer.m/v; --track-linear's tracker.weight [classes, features], tracker.bias and
// tracker_optimizer.m/v; --peer-norm's layers.<l>.peer_running_mean [out]. Metadata: schema
// (kSchemaVersion), config (JSON), next_epoch, optimizer_steps, dims.
void save_training_checkpoint(const std::string& path, Model& model, const TrainConfig& config,
                              int next_epoch);

// The config stored in a checkpoint. Throws ff::Error for a file that is not one, for a schema
// newer than this build's (naming both versions) and for a config this build cannot read exactly
// (an unknown name). A checkpoint without schema metadata is schema 1.
TrainConfig checkpoint_config(const Checkpoint& checkpoint, const std::string& path);

// Throws ff::Error unless `checkpoint` was made with the network `config` asks for (the fields
// that decide the network, its training and its data), naming each difference.
void require_matching_config(const Checkpoint& checkpoint, const std::string& path,
                             const TrainConfig& config);

// Loads weights (and, with `with_optimizer`, the optimiser state) into `model`, after checking
// that the checkpoint's network matches `config`. Returns the epoch to continue from.
int restore_training_checkpoint(const Checkpoint& checkpoint, const std::string& path, Model& model,
                                const TrainConfig& config, bool with_optimizer);

}  // namespace ff
