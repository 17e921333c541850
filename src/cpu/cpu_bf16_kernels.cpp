#include "cpu_bf16_kernels.hpp"

#include "ff/math.hpp"

// Function-level targets, not a per-file -mavx512f: with a flag, the out-of-line copies of
// header inline functions (bf16_bits_of, adam_element) emitted here could be the ones the linker
// keeps for the whole program, and run on CPUs without AVX-512. GCC outlines OpenMP regions with
// their parent's target, and inlines default-target callees into it.
#if defined(__x86_64__) && defined(__clang__)
// Clang spells the 512-bit preference as its own attribute (and drops a target string it does
// not know whole).
#define FF_AVX512_LOOP \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq"), min_vector_width(512)))
#elif defined(__x86_64__) && defined(__GNUC__)
#define FF_AVX512_LOOP \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,prefer-vector-width=512")))
#else
#define FF_AVX512_LOOP
#endif

namespace ff {

FF_AVX512_LOOP void to_bf16_bits(const float* x, size_t n, uint16_t* out) {
  const float* __restrict in = x;
  uint16_t* __restrict y = out;
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) y[i] = bf16_bits_of(in[i]);
}

FF_AVX512_LOOP void adam_with_bf16_copy(const AdamScalars& scalars, float* params,
                                        const float* grads, float* m, float* v, uint16_t* bits,
                                        size_t n) {
  const AdamScalars a = scalars;
  // __restrict: the five arrays never overlap; without it the compiler will not vectorise.
  float* __restrict p = params;
  const float* __restrict g = grads;
  float* __restrict mm = m;
  float* __restrict vv = v;
  uint16_t* __restrict b = bits;
  const auto count = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    adam_element(a, g[i], &p[i], &mm[i], &vv[i]);
    b[i] = bf16_bits_of(p[i]);
  }
}

}  // namespace ff
