// Checkpoints in the safetensors format, so that PyTorch users can read the weights with
// `safetensors.torch.load_file`: an 8-byte little-endian header length N, N bytes of JSON header
// ({"name": {"dtype", "shape", "data_offsets"}, ..., "__metadata__": {string: string}}), then the
// raw tensor bytes. Only F32 tensors are written and accepted.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ff {

struct CheckpointTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;  // row-major, shape's product elements
};

struct Checkpoint {
  std::vector<CheckpointTensor> tensors;        // in file order
  std::map<std::string, std::string> metadata;  // free-form strings ("config", "epoch", ...)

  const CheckpointTensor* find(const std::string& name) const;  // nullptr if absent
};

// The value save_checkpoint stores under metadata "format" and load_checkpoint insists on.
inline constexpr const char* kCheckpointFormat = "ffcuda-checkpoint-v1";

// Writes `checkpoint` to `path` atomically (path + ".tmp", flushed to disk, then renamed over
// `path`), adding metadata "format" = kCheckpointFormat and "checksum" = the zlib CRC32 of the
// data section as 8 lowercase hex digits. Throws ff::Error naming the path on failure, and then
// leaves neither a temporary file nor a changed `path` behind.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);

// Reads and validates a checkpoint written by save_checkpoint: the safetensors structure, F32
// dtypes, offsets that tile the data section exactly, the format tag and the checksum. Throws
// ff::Error naming the file, the fault and what to do.
Checkpoint load_checkpoint(const std::string& path);

// Returns the tensor `name` of `checkpoint` (read from `path`, named in messages). Throws ff::Error
// when it is absent or its shape is not `shape`, naming both shapes.
const CheckpointTensor& require_tensor(const Checkpoint& checkpoint, const std::string& path,
                                       const std::string& name, const std::vector<int64_t>& shape);

}  // namespace ff
