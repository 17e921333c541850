// A CIFAR-10 binary batch file: read or refused with an ff::Error, nothing else.
#include <cstddef>
#include <cstdint>

#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "fuzz_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = ff::fuzz::write_scratch("data_batch.bin", data, size);
  try {
    ff::read_cifar10_batches({path});
  } catch (const ff::Error&) {
  }
  return 0;
}
