// SVHN cropped digits (.mat, MATLAB v5 with zlib-compressed elements) read through libmatio.
// X is uint8 [32,32,3,N] in MATLAB's column-major order, so element X(r,c,ch,n) sits at
// r + 32c + 1024ch + 3072n: each plane is the transpose of a row-major image and is transposed
// back here. y is [N,1] (uint8, or double in some copies) with values 1..10, 10 meaning digit 0.
#include <fcntl.h>
#include <matio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "ff/dataset.hpp"
#include "ff/error.hpp"

// GCC says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define FF_UNDER_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FF_UNDER_ADDRESS_SANITIZER 1
#endif
#endif

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

// The first bytes of a variable (its MAT v5 element) and its whole length, for check_matrix.
struct ElementStart {
  std::vector<unsigned char> head;  // at most kHeadBytes
  uint64_t length = 0;
};
constexpr size_t kHeadBytes = 1024;

// Inflates one zlib stream of `nbytes` bytes from `in` to its end, keeping only its first
// kHeadBytes: reaching Z_STREAM_END means the stream is complete and its Adler-32 checksum matches.
ElementStart inflate_zlib_stream(std::ifstream& in, uint64_t nbytes, const std::string& path) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw Error("zlib failed to initialise while reading " + path);
  std::vector<unsigned char> input(1 << 16), output(1 << 16);
  ElementStart start;
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
      const size_t produced = output.size() - z.avail_out;
      const size_t keep = std::min(produced, kHeadBytes - start.head.size());
      start.head.insert(start.head.end(), output.begin(), output.begin() + static_cast<long>(keep));
      start.length += produced;
    } while (rc == Z_OK && z.avail_out == 0);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
  }
  inflateEnd(&z);
  if (!in) throw corrupt(path, "truncated (cut inside a compressed variable)");
  if (rc != Z_STREAM_END) throw corrupt(path, "corrupt (a compressed variable fails to inflate)");
  in.seekg(static_cast<std::streamoff>(nbytes), std::ios::cur);  // bytes after the stream's end
  return start;
}

// Reads MAT v5 data-element tags from the start of a variable, in the file's byte order.
class ElementReader {
 public:
  ElementReader(const ElementStart& start, bool big_endian, const std::string& path)
      : start_(start), big_endian_(big_endian), path_(path) {}

  struct Tag {
    uint32_t type;
    uint64_t bytes;    // of data
    uint64_t advance;  // to the next element: tag, data and padding
  };

  // The next element's tag; the small form (data of 1..4 bytes inside the tag) included.
  Tag next() {
    const uint32_t word = u32(position_), second = u32(position_ + 4);
    Tag tag;
    if ((word >> 16) != 0) {  // small element: bytes in the upper half, type in the lower
      tag = {word & 0xffffu, word >> 16, 8};
      if (tag.bytes > 4) throw corrupt(path_, "corrupt (a small data element longer than 4 bytes)");
    } else {
      tag = {word, second, 8 + (uint64_t{second} + 7) / 8 * 8};
    }
    data_ = position_ + (tag.advance == 8 ? 4 : 8);  // a small element's data is in its tag
    if (tag.type == 0 || tag.advance > start_.length - position_)
      throw corrupt(path_, "corrupt (a variable's parts do not fit in it)");
    position_ += tag.advance;
    return tag;
  }
  // A 32-bit word of the data of the element next() returned last.
  uint32_t data_word(size_t index) const { return u32(data_ + 4 * index); }
  uint64_t position() const { return position_; }

 private:
  uint32_t u32(uint64_t offset) const {
    if (offset + 4 > start_.head.size())
      throw corrupt(path_, "not an SVHN file (a variable header is too long or cut)");
    return read_u32(start_.head.data() + offset, big_endian_);
  }

  const ElementStart& start_;
  const bool big_endian_;
  const std::string& path_;
  uint64_t position_ = 8;  // after the variable's own tag
  uint64_t data_ = 0;
};

// Bytes per element of MAT v5 numeric data type `type` (miINT8 .. miUINT64), 0 for others.
uint64_t mi_type_size(uint32_t type) {
  switch (type) {
    case 1:
    case 2: return 1;  // miINT8, miUINT8
    case 3:
    case 4: return 2;  // miINT16, miUINT16
    case 5:
    case 6:
    case 7: return 4;  // miINT32, miUINT32, miSINGLE
    case 9:
    case 12:
    case 13: return 8;  // miDOUBLE, miINT64, miUINT64
    default: return 0;
  }
}

// Checks that a variable is what SVHN holds and what matio can read safely: a real numeric
// matrix (miMATRIX of a numeric class, not complex, sparse, cell or struct) whose declared
// dimensions match the size of its data. matio trusts these fields; a file that lies in them
// could make it allocate or read far beyond the file (found by fuzzing), so they are checked
// here, before matio sees the file.
void check_matrix(const ElementStart& start, bool big_endian, const std::string& path) {
  constexpr uint32_t kMiMatrix = 14;
  if (start.head.size() < 8 || read_u32(start.head.data(), big_endian) != kMiMatrix)
    throw corrupt(path, "not an SVHN file (a variable that is not a matrix)");
  if (uint64_t{read_u32(start.head.data() + 4, big_endian)} + 8 > start.length)
    throw corrupt(path, "corrupt (a matrix longer than its variable)");
  ElementReader reader(start, big_endian, path);
  const ElementReader::Tag flags = reader.next();
  const uint32_t flag_word = reader.data_word(0);
  const uint32_t array_class = flag_word & 0xffu;
  const bool numeric = array_class >= 6 && array_class <= 15;  // mxDOUBLE .. mxUINT64
  if (flags.type != 6 || flags.bytes != 8 || !numeric || (flag_word & 0x0800u) != 0)
    throw corrupt(path, "not an SVHN file (a variable that is not a real numeric matrix)");
  const ElementReader::Tag dims = reader.next();
  if (dims.type != 5 || dims.bytes < 8 || dims.bytes > uint64_t{4} * 8 || dims.bytes % 4 != 0)
    throw corrupt(path, "not an SVHN file (a matrix of an unexpected rank)");
  uint64_t elements = 1;
  for (uint64_t d = 0; d < dims.bytes / 4; ++d) {
    const uint32_t extent = reader.data_word(d);
    if (extent > (uint32_t{1} << 30)) throw corrupt(path, "corrupt (an absurd matrix dimension)");
    if (extent != 0 && elements > (uint64_t{1} << 40) / extent)  // checked before it can wrap
      throw corrupt(path, "corrupt (an absurd matrix size)");
    elements *= extent;
    if (elements > (uint64_t{1} << 40)) throw corrupt(path, "corrupt (an absurd matrix size)");
  }
  const ElementReader::Tag name = reader.next();
  if (name.type != 1) throw corrupt(path, "corrupt (a matrix without a name)");
  // The data part's tag only: its bytes lie beyond the kept head for any real image matrix.
  const uint64_t data_at = reader.position();
  if (data_at + 8 > start.head.size())
    throw corrupt(path, "not an SVHN file (a variable header is too long or cut)");
  uint32_t type = read_u32(start.head.data() + data_at, big_endian);
  uint64_t bytes = read_u32(start.head.data() + data_at + 4, big_endian);
  if ((type >> 16) != 0) {  // small element
    bytes = type >> 16;
    type &= 0xffffu;
  }
  const uint64_t size = mi_type_size(type);
  if (size == 0 || bytes != elements * size || data_at + 8 + bytes > start.length)
    throw corrupt(path, "corrupt (a matrix whose data does not match its dimensions)");
}

// Checks the 128-byte MAT header and, for v5 files, every top-level element. Both matter because
// matio treats an unrecognised file as the headerless v4 format, and inflates compressed
// variables only as far as it needs without checking their checksum: without this, a corrupt or
// cut file could load silently as wrong pixels. Every variable is then checked by check_matrix.
// v7.3 (HDF5) files are left to matio/HDF5 (in the child process).
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
    ElementStart start;
    if (type == kMiCompressed) {
      start = inflate_zlib_stream(in, length, path);
    } else {  // the element itself, tag included, then the rest skipped
      start.length = 8 + length;
      start.head.assign(tag, tag + 8);
      start.head.resize(std::min<uint64_t>(start.length, kHeadBytes));
      in.read(reinterpret_cast<char*>(start.head.data() + 8),
              static_cast<std::streamsize>(start.head.size() - 8));
      in.seekg(static_cast<std::streamoff>(start.length - start.head.size()), std::ios::cur);
    }
    check_matrix(start, big_endian, path);
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
  const char* type = var.class_type == MAT_C_UINT8    ? "uint8 "
                     : var.class_type == MAT_C_DOUBLE ? "double "
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

// Everything matio does with the file, in the process that calls it.
ImageSet read_with_matio(const std::string& path) {
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

// ---- matio in a child process --------------------------------------------------------------
// matio trusts what a file says: a few bytes can make it allocate gigabytes or read past a buffer
// (found by fuzzing, tools/fuzz.sh svhn), and it cannot be patched here. So it runs in a forked
// child that sends the images back through a pipe: whatever matio does with a malformed file,
// this process gets either the images or an ff::Error. The reply: one byte ('I' images, 'E' an
// error message), a 64-bit length, then the image count, labels and pixels, or the message.

bool write_all(int fd, const void* data, size_t size) {
  const auto* bytes = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* data, size_t size) {
  auto* bytes = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, bytes, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// This process's address space in bytes (/proc/self/statm's first field), 0 if unknown.
[[maybe_unused]] rlim_t current_address_space() {
  std::ifstream statm("/proc/self/statm");
  rlim_t pages = 0;
  statm >> pages;
  return pages * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE));
}

[[noreturn]] void child_reads(const std::string& path, int fd, uint64_t file_size) {
  const struct rlimit no_core = {0, 0};  // a crash of matio is expected, not a core dump
  ::setrlimit(RLIMIT_CORE, &no_core);
#if !defined(FF_UNDER_ADDRESS_SANITIZER)
  // An SVHN file inflates to a few times its size: a bound that stops matio's absurd
  // allocations (a sanitizer reserves address space of its own, so none under one).
  // The bound is on top of what the child inherits (a CUDA context, thread pools' stacks).
  const rlim_t bound = current_address_space() + (rlim_t{2} << 30) +
                       16 * static_cast<rlim_t>(std::min<uint64_t>(file_size, uint64_t{1} << 36));
  const struct rlimit limit = {bound, bound};
  ::setrlimit(RLIMIT_AS, &limit);
#else
  (void)file_size;
#endif
  char kind = 'E';
  std::string reply;
  try {
    ImageSet set = read_with_matio(path);
    kind = 'I';
    const uint64_t count = set.count;
    reply.append(reinterpret_cast<const char*>(&count), sizeof count);
    reply.append(set.labels.begin(), set.labels.end());
    reply.append(set.images.begin(), set.images.end());
  } catch (const Error& e) {
    reply = e.what();
  } catch (const std::bad_alloc&) {
    reply =
        "SVHN file " + path + " is corrupt: it declares more data than fits in memory; " + kFixHint;
  }
  const uint64_t length = reply.size();
  const bool sent = write_all(fd, &kind, 1) && write_all(fd, &length, sizeof length) &&
                    write_all(fd, reply.data(), reply.size());
  ::_exit(sent ? 0 : 3);  // no atexit handlers or stdio flushes of the parent's state
}

ImageSet read_in_child(const std::string& path, uint64_t file_size) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw Error("cannot read " + path + ": pipe failed (" + std::strerror(errno) + ")");
  std::fflush(nullptr);  // the child must not inherit unwritten output
  const pid_t child = ::fork();
  if (child < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw Error("cannot read " + path + ": fork failed (" + std::strerror(errno) + ")");
  }
  if (child == 0) {
    ::close(fds[0]);
    child_reads(path, fds[1], file_size);
  }
  ::close(fds[1]);
  // Whatever happens below (an allocation failing too), the pipe is closed and the child reaped.
  int status = 0;
  bool reaped = false;
  auto finish = [&] {
    if (fds[0] >= 0) ::close(fds[0]);
    fds[0] = -1;
    if (reaped) return;
    reaped = true;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
  };
  struct Guard {
    std::function<void()> run;
    ~Guard() { run(); }
  } guard{[&] {
    if (!reaped) ::kill(child, SIGKILL);  // only when leaving early, by an exception
    finish();
  }};
  char kind = 0;
  uint64_t length = 0;
  std::string reply;
  bool complete = read_all(fds[0], &kind, 1) && read_all(fds[0], &length, sizeof length) &&
                  (kind == 'I' || kind == 'E') && length < (uint64_t{1} << 40);
  if (complete) {
    reply.resize(length);
    complete = read_all(fds[0], reply.data(), length);
  }
  finish();
  if (!complete || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how =
        WIFSIGNALED(status)        ? "was killed by signal " + std::to_string(WTERMSIG(status))
        : WEXITSTATUS(status) != 0 ? "failed (exit " + std::to_string(WEXITSTATUS(status)) + ")"
                                   : "sent an incomplete reply";
    throw Error("SVHN file " + path + " is corrupt: the MATLAB reader (matio) " + how + " on it; " +
                kFixHint);
  }
  if (kind == 'E') throw Error(reply);
  ImageSet set;
  uint64_t count = 0;
  if (reply.size() >= sizeof count) std::memcpy(&count, reply.data(), sizeof count);
  if (reply.size() != sizeof count + count * (1 + kPixels))
    throw Error("SVHN file " + path + ": the reader's reply is incomplete; " + kFixHint);
  set.count = count;
  // count fits: the reply's size was just checked against it.
  const auto labels = reply.begin() + static_cast<std::ptrdiff_t>(sizeof count);
  const auto images = labels + static_cast<std::ptrdiff_t>(count);
  set.labels.assign(labels, images);
  set.images.assign(images, reply.end());
  return set;
}

}  // namespace

ImageSet read_svhn_mat(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error("SVHN file " + path + " not found; " + kFixHint);
  verify_mat_file(path);  // our own checks of the file's structure first, in this process
  const uintmax_t size = std::filesystem::file_size(path, ec);
  return read_in_child(path, ec ? 0 : size);
}

}  // namespace ff
