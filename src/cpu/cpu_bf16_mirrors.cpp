#include "cpu_bf16_mirrors.hpp"

#include <malloc.h>

#include <algorithm>

namespace ff {

namespace {

uintptr_t address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

}  // namespace

uint16_t* Bf16Mirrors::for_update(const float* x, size_t n) {
  const uintptr_t begin = address(x), end = begin + n * sizeof(float);
  for (Mirror& m : mirrors_) {
    if (m.begin == begin && m.end == end) return m.bits.data();
  }
  written(x, n * sizeof(float));
  Mirror& made = mirrors_.emplace_back();
  made.begin = begin;
  made.end = end;
  made.bits.resize(n);
  return made.bits.data();
}

const uint16_t* Bf16Mirrors::find(const float* x, size_t n) const {
  const uintptr_t begin = address(x), end = begin + n * sizeof(float);
  for (const Mirror& m : mirrors_) {
    if (m.begin <= begin && end <= m.end) {
      return m.bits.data() + (begin - m.begin) / sizeof(float);
    }
  }
  return nullptr;
}

void Bf16Mirrors::written(const void* p, size_t bytes) {
  if (mirrors_.empty() || bytes == 0) return;
  const uintptr_t begin = address(p), end = begin + bytes;
  std::erase_if(mirrors_, [&](const Mirror& m) { return m.begin < end && begin < m.end; });
}

void Bf16Mirrors::released(void* p) {
  // The allocator knows the block's size (at least what was asked for): drop everything in it.
  if (!mirrors_.empty() && p != nullptr) written(p, malloc_usable_size(p));
}

}  // namespace ff
