// An SVHN .mat file (MATLAB v5 through matio): read or refused with an ff::Error, nothing else,
// whatever the file holds.
#include <cstddef>
#include <cstdint>

#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ff::fuzz::write_scratch("svhn.mat", data, size);
  try {
    ff::read_svhn_mat(path);
  } catch (const ff::Error&) {
  }
  return 0;
}
