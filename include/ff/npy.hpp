// NumPy .npy files (format version 1.0, little-endian, C order), for embeddings that Python
// tools read with numpy.load: float32 features and int64 labels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ff {

// The header of an .npy file holding `shape` of `dtype` ("<f4", "<i8"): magic, version, length,
// the dict, padded with spaces so that the data starts at a multiple of 64 bytes.
std::string npy_header(const std::string& dtype, const std::vector<uint64_t>& shape);

// Writes the array to `path` atomically (temporary name, then rename). Throws ff::Error naming the
// path; `values` must hold the product of `shape` elements.
void write_npy(const std::string& path, const std::vector<float>& values,
               const std::vector<uint64_t>& shape);
void write_npy(const std::string& path, const std::vector<int64_t>& values,
               const std::vector<uint64_t>& shape);

}  // namespace ff
