// SVHN cropped digits (.mat, MATLAB v5 with zlib-compressed elements) read through libmatio.
// X is uint8 [32,32,3,N] in MATLAB's column-major order, so element X(r,c,ch,n) sits at
// r + 32c + 1024ch + 3072n: each plane is the transpose of a row-major image and is transposed
// back here. y is [N,1] (uint8, or double in some copies) with values 1..10, 10 meaning digit 0.
#include <matio.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "ff/dataset.hpp"
#include "ff/error.hpp"

namespace ff {
namespace {

constexpr size_t kSide = 32, kChannels = 3, kPixels = kChannels * kSide * kSide;
const char* const kFixHint =
    "put the original SVHN cropped-digits files (train_32x32.mat, test_32x32.mat) in its folder";

// matio reports problems through a process-wide log function that prints to stderr by default.
// Ours keeps the last error instead, so it can be quoted in the ff::Error and stderr stays clean.
thread_local std::string matio_last_message;

void matio_log(int level, char* message) {
  if ((level & (MATIO_LOG_LEVEL_ERROR | MATIO_LOG_LEVEL_CRITICAL)) != 0 && message != nullptr)
    matio_last_message = message;
}

void install_matio_log() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("ffcuda", matio_log); });
}

std::string matio_detail() {
  return matio_last_message.empty() ? std::string() : " (matio: " + matio_last_message + ")";
}

struct MatCloser {
  void operator()(mat_t* mat) const { Mat_Close(mat); }
};
struct VarFreer {
  void operator()(matvar_t* var) const { Mat_VarFree(var); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

Error corrupt(const std::string& path, const std::string& fault) {
  return Error("SVHN file " + path + " is " + fault + "; " + kFixHint);
}

uint32_t read_u32(const unsigned char* b, bool big_endian) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | b[big_endian ? i : 3 - i];
  return value;
}

// Inflates one zlib stream of `nbytes` bytes from `in` to its end, discarding the output: reaching
// Z_STREAM_END means the stream is complete and its Adler-32 checksum matches.
void verify_zlib_stream(std::ifstream& in, uint64_t nbytes, const std::string& path) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw Error("zlib failed to initialise while reading " + path);
  std::vector<unsigned char> input(1 << 16), output(1 << 16);
  int rc = Z_OK;
  while (nbytes > 0 && rc != Z_STREAM_END) {
    const auto chunk = static_cast<std::streamsize>(std::min<uint64_t>(nbytes, input.size()));
    in.read(reinterpret_cast<char*>(input.data()), chunk);
    nbytes -= static_cast<uint64_t>(chunk);
    z.next_in = input.data();
    z.avail_in = static_cast<uInt>(chunk);
    do {
      z.next_out = output.data();
      z.avail_out = static_cast<uInt>(output.size());
      rc = inflate(&z, Z_NO_FLUSH);
    } while (rc == Z_OK && z.avail_out == 0);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
  }
  inflateEnd(&z);
  if (!in) throw corrupt(path, "truncated (cut inside a compressed variable)");
  if (rc != Z_STREAM_END) throw corrupt(path, "corrupt (a compressed variable fails to inflate)");
  in.seekg(static_cast<std::streamoff>(nbytes), std::ios::cur);  // bytes after the stream's end
}

// Checks the 128-byte MAT header and, for v5 files, every top-level element. Both matter because
// matio treats an unrecognised file as the headerless v4 format, and inflates compressed
// variables only as far as it needs without checking their checksum: without this, a corrupt or
// cut file could load silently as wrong pixels. v7.3 (HDF5) files are left to matio/HDF5.
void verify_mat_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[128] = {};
  in.read(header, sizeof header);
  const std::string endian(header + 126, 2);
  const bool big_endian = endian == "MI";
  const auto version = static_cast<uint8_t>(header[big_endian ? 124 : 125]);
  if (!in || (endian != "IM" && !big_endian) || (version != 1 && version != 2))
    throw Error("SVHN file " + path + " is not a MATLAB v5/v7.3 .mat file (bad header); " +
                kFixHint);
  if (version != 1) return;

  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  uint64_t position = sizeof header;
  while (position < size) {
    unsigned char tag[8];
    if (size - position < sizeof tag || !in.read(reinterpret_cast<char*>(tag), sizeof tag))
      throw corrupt(path, "truncated (cut inside a variable header)");
    const uint32_t type = read_u32(tag, big_endian), nbytes = read_u32(tag + 4, big_endian);
    constexpr uint32_t kMiCompressed = 15;
    // Compressed elements are not padded; others are padded to a multiple of 8 bytes.
    const uint64_t length = type == kMiCompressed ? nbytes : (uint64_t{nbytes} + 7) / 8 * 8;
    position += sizeof tag;
    if (length > size - position) throw corrupt(path, "truncated (cut inside a variable)");
    if (type == kMiCompressed)
      verify_zlib_stream(in, length, path);
    else
      in.seekg(static_cast<std::streamoff>(length), std::ios::cur);
    position += length;
  }
}

// Header (name, class, shape) of variable `name`; reading it before the data means a wrong shape
// is refused before anything large is allocated.
MatVar read_info(mat_t* mat, const std::string& path, const char* name) {
  MatVar info(Mat_VarReadInfo(mat, name));
  if (!info)
    throw Error("SVHN file " + path + " has no readable variable '" + name + "'" + matio_detail() +
                ": it is truncated, or not an SVHN cropped-digits file; " + kFixHint);
  return info;
}

// "uint8 32x32x3x5" style description for messages.
std::string describe(const matvar_t& var) {
  std::string shape;
  for (int d = 0; d < var.rank; ++d) shape += (d ? "x" : "") + std::to_string(var.dims[d]);
  const char* type = var.class_type == MAT_C_UINT8 ? "uint8 " : var.class_type == MAT_C_DOUBLE
                                                                 ? "double "
                                                                 : "non-uint8 ";
  return (var.isComplex ? "complex " : "") + std::string(type) + shape;
}

bool x_shape_ok(const matvar_t& x) {
  return x.rank == 4 && x.dims[0] == kSide && x.dims[1] == kSide && x.dims[2] == kChannels &&
         x.class_type == MAT_C_UINT8 && !x.isComplex;
}

bool y_shape_ok(const matvar_t& y) {
  return y.rank == 2 && y.dims[1] == 1 && !y.isComplex &&
         (y.class_type == MAT_C_UINT8 || y.class_type == MAT_C_DOUBLE);
}

MatVar read_data(mat_t* mat, const std::string& path, const char* name) {
  MatVar var(Mat_VarRead(mat, name));
  if (!var || var->data == nullptr)
    throw Error("SVHN file " + path + ": cannot read variable '" + name + "'" + matio_detail() +
                ", the file is truncated or corrupt; " + kFixHint);
  return var;
}

// Digit of label value v (1..10, 10 meaning 0), or -1 when v is not such a value.
int svhn_digit(double v) {
  if (!(v >= 1 && v <= 10) || v != std::floor(v)) return -1;
  return static_cast<int>(v) % 10;
}

}  // namespace

ImageSet read_svhn_mat(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error("SVHN file " + path + " not found; " + kFixHint);
  verify_mat_file(path);
  install_matio_log();
  matio_last_message.clear();
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat)
    throw Error("SVHN file " + path + " cannot be opened as a MATLAB file" + matio_detail() + "; " +
                kFixHint);

  // Shapes are checked on the headers first (cheap) and again on the variables actually read,
  // because the pixel loops below index the data by these dimensions.
  const MatVar x_info = read_info(mat.get(), path, "X");
  if (!x_shape_ok(*x_info))
    throw Error("SVHN file " + path + ": variable 'X' is " + describe(*x_info) +
                ", expected uint8 32x32x3xN; " + kFixHint);
  const size_t n = x_info->dims[3];
  const MatVar y_info = read_info(mat.get(), path, "y");
  if (!y_shape_ok(*y_info))
    throw Error("SVHN file " + path + ": variable 'y' is " + describe(*y_info) +
                ", expected uint8 or double Nx1; " + kFixHint);
  if (n == 0 || y_info->dims[0] != n)
    throw Error("SVHN file " + path + " holds " + std::to_string(n) + " images but " +
                std::to_string(y_info->dims[0]) + " labels; " + kFixHint);
  const MatVar x = read_data(mat.get(), path, "X");
  const MatVar y = read_data(mat.get(), path, "y");
  if (!x_shape_ok(*x) || !y_shape_ok(*y) || x->dims[3] != n || y->dims[0] != n)
    throw Error("SVHN file " + path + " is inconsistent: its variables differ between reads; " +
                kFixHint);

  ImageSet set;
  set.labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const double v = y->class_type == MAT_C_UINT8 ? static_cast<const uint8_t*>(y->data)[i]
                                                   : static_cast<const double*>(y->data)[i];
    const int digit = svhn_digit(v);
    if (digit < 0) {
      std::ostringstream what;  // operator<< prints 11 as "11", not to_string's "11.000000"
      what << "SVHN file " << path << " is corrupt: label " << v << " of image " << i
           << " is not an integer in 1..10; " << kFixHint;
      throw Error(what.str());
    }
    set.labels[i] = static_cast<uint8_t>(digit);
  }

  // Column-major X(r,c,ch,n) -> our out[n][ch][r][c]: within a plane, source index r + 32c.
  const auto* src = static_cast<const uint8_t*>(x->data);
  set.images.resize(n * kPixels);
  for (size_t plane = 0; plane < n * kChannels; ++plane) {
    const uint8_t* in = src + plane * kSide * kSide;
    uint8_t* out = set.images.data() + plane * kSide * kSide;
    for (size_t r = 0; r < kSide; ++r)
      for (size_t c = 0; c < kSide; ++c) out[r * kSide + c] = in[r + kSide * c];
  }
  set.count = n;
  return set;
}

}  // namespace ff
