// Seeded inputs for op tests and benchmarks, from Philox: the same data on every machine and
// standard library.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ff/philox.hpp"

namespace ff::optable {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// n floats uniform in [lo, hi), keyed by (seed, tag): different tags give independent arrays.
inline std::vector<float> random_floats(size_t n, uint64_t seed, uint32_t tag, float lo, float hi) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    const Philox4 w = random_words(seed, tag, static_cast<uint32_t>(i / 4), RandomPurpose::kInit);
    x[i] = lo + (hi - lo) * (uniform_float(w.v[i % 4]) - 0x1p-24f);  // uniform_float is (0, 1]
  }
  return x;
}

// n floats k/16 with k uniform in [lo*16, hi*16]: few mantissa bits, so sums of squares and dot
// products of a few thousand of them are exact in fp32 in ANY order. Comparisons on such data
// test the kernel's logic, not the summation order.
inline std::vector<float> quantized_floats(size_t n, uint64_t seed, uint32_t tag, float lo,
                                           float hi) {
  std::vector<float> x = random_floats(n, seed, tag, lo, hi);
  for (float& v : x) v = std::round(v * 16.0f) / 16.0f;
  return x;
}

inline std::vector<int32_t> random_ints(size_t n, uint64_t seed, uint32_t tag, int32_t below) {
  std::vector<int32_t> x(n);
  for (size_t i = 0; i < n; ++i) {
    const Philox4 w = random_words(seed, tag, static_cast<uint32_t>(i / 4), RandomPurpose::kInit);
    x[i] = static_cast<int32_t>(uniform_below(w.v[i % 4], static_cast<uint32_t>(below)));
  }
  return x;
}

inline std::vector<float> poison(size_t n) { return std::vector<float>(n, kNaN); }

}  // namespace ff::optable
