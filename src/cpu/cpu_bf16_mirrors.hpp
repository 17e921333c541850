// bf16 copies of fp32 parameter ranges, written by the optimiser in the same pass that updates
// the parameters, so that a native bf16 GEMM (--precision bf16 on a CPU with AVX512_BF16) reads a
// layer's weights without converting them again at every call: the conversion was a full extra
// pass over every weight per step, about as long as Adam itself.
//
// A mirror is only ever the exact bf16 rounding (ff/math.hpp: bf16_bits_of) of the memory it
// mirrors, so using it changes no bit of any result. That holds as long as every other write to
// that memory drops it: the CPU backend calls written() from every op that writes memory, and
// released() when memory is freed (a later allocation may reuse the address).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ff {

class Bf16Mirrors {
 public:
  // The mirror of [x, x + n) for the caller to fill with bf16_bits_of(x[i]) for every i before
  // any other op runs; made here (dropping any mirror it overlaps) unless it exists already.
  uint16_t* for_update(const float* x, size_t n);
  // The bf16 bits of [x, x + n) when a mirror holds all of them, else null.
  const uint16_t* find(const float* x, size_t n) const;
  // [p, p + bytes) was written by something other than the mirror's own update: drop every mirror
  // overlapping it.
  void written(const void* p, size_t bytes);
  // The allocation at `p` was freed.
  void released(void* p);
  size_t count() const { return mirrors_.size(); }

 private:
  struct Mirror {
    uintptr_t begin = 0, end = 0;  // the mirrored bytes [begin, end)
    std::vector<uint16_t> bits;
  };
  std::vector<Mirror> mirrors_;
};

}  // namespace ff
