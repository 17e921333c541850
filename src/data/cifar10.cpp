// CIFAR-10 binary batches: headerless records of 1 label byte followed by 3072 pixel bytes (the
// R, G and B planes, each 32x32 row-major). That pixel layout is already our channel-major
// [3][32][32], so a record's pixels are copied as they are.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ff/dataset.hpp"
#include "ff/error.hpp"

namespace ff {
namespace {

constexpr size_t kPixels = size_t{3} * 32 * 32;
constexpr size_t kRecord = 1 + kPixels;
constexpr int kNumClasses = 10;
const char* const kFixHint =
    "put the original files of cifar-10-batches-bin (from cifar-10-binary.tar.gz) in its folder";

// Appends the records of one batch file to `set`.
void append_batch(const std::string& path, ImageSet& set) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    throw Error("CIFAR-10 file " + path + " not found; " + kFixHint);
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) throw Error("cannot read the size of CIFAR-10 file " + path + ": " + ec.message());
  if (size == 0 || size % kRecord != 0)
    throw Error("CIFAR-10 file " + path + " is truncated or corrupt: its size " +
                std::to_string(size) + " is not a positive multiple of the 3073-byte record; " +
                kFixHint);

  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in || in.gcount() != static_cast<std::streamsize>(size))
    throw Error("cannot read CIFAR-10 file " + path + " (I/O error or file changed while read)");

  const size_t records = bytes.size() / kRecord;
  const size_t first = set.count;
  set.labels.resize(first + records);
  set.images.resize((first + records) * kPixels);
  for (size_t i = 0; i < records; ++i) {
    const uint8_t* record = bytes.data() + i * kRecord;
    if (record[0] >= kNumClasses)
      throw Error("CIFAR-10 file " + path + " is corrupt: record " + std::to_string(i) +
                  " has label " + std::to_string(record[0]) + ", outside 0-9 (is it a " +
                  "CIFAR-100 file?); " + kFixHint);
    set.labels[first + i] = record[0];
    std::copy(record + 1, record + kRecord, set.images.data() + (first + i) * kPixels);
  }
  set.count = first + records;
}

}  // namespace

ImageSet read_cifar10_batches(const std::vector<std::string>& paths) {
  require(!paths.empty(), "read_cifar10_batches: no CIFAR-10 batch files given");
  ImageSet set;  // local until every file has passed, so a failure leaves nothing half-loaded
  for (const std::string& path : paths) append_batch(path, set);
  return set;
}

}  // namespace ff
