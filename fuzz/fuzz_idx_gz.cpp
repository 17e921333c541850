// The IDX pair through zlib (files ending in .gz): see fuzz_idx.cpp.
#define FF_FUZZ_GZIP 1
#include "fuzz_idx.cpp"
