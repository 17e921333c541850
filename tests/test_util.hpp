// Helpers shared by tests that need no GPU: small synthetic datasets and an error measure.
#pragma once

#include <cmath>
#include <limits>
#include <vector>

#include "ff/dataset.hpp"
#include "ff/philox.hpp"

namespace ff::testing_util {

// An IDX file (big-endian dimensions, then the data): element type 0x08 is unsigned bytes.
inline std::vector<uint8_t> idx_file(uint8_t type, const std::vector<uint32_t>& dims,
                                     const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// `count` random 1x12x12 images per split with labels 0..9 (seeded, the same on every machine):
// even sides (jigsaw), 144 values (a 10- or 24-way label fits), milliseconds to train on.
inline Dataset synthetic_images(uint64_t seed, size_t count) {
  Dataset d;
  d.name = "synthetic";
  d.channels = 1;
  d.height = d.width = 12;
  for (ImageSet* set : {&d.train, &d.test}) {
    const uint64_t split = set == &d.train ? 1 : 2;
    set->count = count;
    for (size_t i = 0; i < count * 144; ++i) {
      const Philox4 w = random_words(seed, split, static_cast<uint32_t>(i), RandomPurpose::kInit);
      set->images.push_back(static_cast<uint8_t>(w.v[0] & 0xffu));
    }
    for (size_t i = 0; i < count; ++i) {
      const Philox4 w =
          random_words(seed, split + 2, static_cast<uint32_t>(i), RandomPurpose::kInit);
      set->labels.push_back(static_cast<uint8_t>(uniform_below(w.v[0], 10)));
    }
  }
  return d;
}

// ||got - want|| / ||want|| (Frobenius, in double).
inline double relative_frobenius(const std::vector<float>& got, const std::vector<float>& want) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    diff += d * d;
    norm += static_cast<double>(want[i]) * want[i];
  }
  // Two all-zero vectors agree (a 1x1 product through ReLU may be exactly 0 on both sides).
  if (norm == 0.0) return diff == 0.0 ? 0.0 : std::numeric_limits<double>::infinity();
  return std::sqrt(diff / norm);
}

}  // namespace ff::testing_util
