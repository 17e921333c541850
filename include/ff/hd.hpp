// Marks functions that both backends compile: the CPU tests then exercise the very arithmetic the
// GPU runs (docs/layout.md, "The CPU backend is the oracle").
#pragma once

#if defined(__CUDACC__)
#define FF_HD __host__ __device__ __forceinline__
#else
#define FF_HD inline
#endif
