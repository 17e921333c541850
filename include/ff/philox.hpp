// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3"). Counter-based:
// every draw is a pure function of (key, counter), so the CPU and the GPU draw the same negatives,
// transforms and masks for the same (seed, step, sample) without sharing any state.
#pragma once

#include <cstdint>

#include "ff/hd.hpp"

namespace ff {

struct Philox4 {
  uint32_t v[4];
};

FF_HD uint32_t philox_mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  const uint64_t product = static_cast<uint64_t>(a) * static_cast<uint64_t>(b);
  *hi = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

FF_HD Philox4 philox4x32_10(Philox4 counter, uint32_t key0, uint32_t key1) {
  constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    const uint32_t lo0 = philox_mulhilo(kMul0, counter.v[0], &hi0);
    const uint32_t lo1 = philox_mulhilo(kMul1, counter.v[2], &hi1);
    counter = Philox4{{hi1 ^ counter.v[1] ^ key0, lo1, hi0 ^ counter.v[3] ^ key1, lo0}};
    key0 += kWeyl0;
    key1 += kWeyl1;
  }
  return counter;
}

// What a draw is for; part of the counter so that different uses never share random numbers.
enum class RandomPurpose : uint32_t {
  kNegativeLabel = 1,
  kTransform = 2,
  kHybridPartner = 3,
  kHybridMask = 4,
  kShuffle = 5,
  kInit = 6,
  kHardNegative = 7,
};

// Four independent 32-bit words for (seed, step, sample, purpose, block). `block` numbers
// successive groups of four words for draws that need many (masks, weight init).
FF_HD Philox4 random_words(uint64_t seed, uint64_t step, uint32_t sample, RandomPurpose purpose,
                           uint32_t block = 0) {
  const Philox4 counter{{sample, static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32),
                         (static_cast<uint32_t>(purpose) << 24) ^ block}};
  return philox4x32_10(counter, static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// Uniform integer in [0, n) from one 32-bit word (multiply-shift; bias < n / 2^32, negligible
// here).
FF_HD uint32_t uniform_below(uint32_t word, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(word) * n) >> 32);
}

// Uniform float in (0, 1]: 24 random bits, never 0 so that log() of it is finite.
FF_HD float uniform_float(uint32_t word) {
  return (static_cast<float>(word >> 8) + 1.0f) * (1.0f / 16777216.0f);
}

// A wrong label: uniform over the C-1 labels other than `true_label` (never the true one).
FF_HD int draw_wrong_label(uint32_t word, int true_label, int num_labels) {
  const int r = static_cast<int>(uniform_below(word, static_cast<uint32_t>(num_labels - 1)));
  return r >= true_label ? r + 1 : r;
}

}  // namespace ff
