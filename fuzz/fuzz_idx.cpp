// An IDX image/label file pair (plain, or .gz with FF_FUZZ_GZIP): the first two bytes split the
// input into the images file and the labels file. Every input must be read or refused with an
// ff::Error; anything else (a crash, a sanitizer report, another exception) is a bug.
#include <cstddef>
#include <cstdint>

#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "fuzz_file.hpp"

#ifndef FF_FUZZ_GZIP
#define FF_FUZZ_SUFFIX ""
#else
#define FF_FUZZ_SUFFIX ".gz"
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t split = std::min<size_t>((size_t{data[0]} << 8 | data[1]), size - 2);
  const std::string images = ff::fuzz::write_scratch("images" FF_FUZZ_SUFFIX, data + 2, split);
  const std::string labels =
      ff::fuzz::write_scratch("labels" FF_FUZZ_SUFFIX, data + 2 + split, size - 2 - split);
  try {
    ff::read_idx_pair(images, labels);
  } catch (const ff::Error&) {
  }
  return 0;
}
