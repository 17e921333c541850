// The CPU backend's loops that run only where GEMMs multiply in bf16 natively (oneDNN found
// AVX512_BF16, so AVX-512 F/BW/VL/DQ are there too). They are compiled for AVX-512 whatever the
// build's -march (x86-64-v3 by default, for CPUs without it): narrowing fp32 to bf16 halves
// is several times slower in AVX2, which has no 32-to-16-bit pack that keeps the order. Never
// call them elsewhere.
#pragma once

#include <cstddef>
#include <cstdint>

#include "ff/ops.hpp"

namespace ff {

// out[i] = bf16_bits_of(x[i]) (ff/math.hpp) for i < n.
void to_bf16_bits(const float* x, size_t n, uint16_t* out);

// adam_element on every i < n, then bits[i] = bf16_bits_of of the new parameter: the update and
// the parameters' bf16 copy in one pass.
void adam_with_bf16_copy(const AdamScalars& scalars, float* params, const float* grads, float* m,
                         float* v, uint16_t* bits, size_t n);

}  // namespace ff
