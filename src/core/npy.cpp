#include "ff/npy.hpp"

#include <cstring>
#include <numeric>

#include "ff/error.hpp"
#include "ff/run_log.hpp"

namespace ff {

namespace {

uint64_t element_count(const std::vector<uint64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), uint64_t{1},
                         [](uint64_t a, uint64_t b) { return a * b; });
}

template <class T>
void write_array(const std::string& path, const char* dtype, const std::vector<T>& values,
                 const std::vector<uint64_t>& shape) {
  check_invariant(element_count(shape) == values.size(),
                  path + ": the shape does not match the values");
  static_assert(sizeof(T) == 4 || sizeof(T) == 8);
  std::string file = npy_header(dtype, shape);
  const size_t header = file.size();
  file.resize(header + values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(file.data() + header, values.data(), values.size() * sizeof(T));
  write_file_atomically(path, file);
}

}  // namespace

std::string npy_header(const std::string& dtype, const std::vector<uint64_t>& shape) {
  std::string dims;
  for (uint64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 1);  // "(3, 4)"; a 1-D shape keeps "(3,)"
  std::string dict =
      "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // magic (6) + version (2) + length (2) + dict + '\n', padded to a multiple of 64.
  const size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict += '\n';
  require(dict.size() <= 65535, "an .npy header over 64 KiB (a shape of too many dimensions)");
  std::string header = "\x93NUMPY";
  header += static_cast<char>(1);
  header += static_cast<char>(0);
  header += static_cast<char>(dict.size() & 0xff);
  header += static_cast<char>(dict.size() >> 8);
  return header + dict;
}

void write_npy(const std::string& path, const std::vector<float>& values,
               const std::vector<uint64_t>& shape) {
  write_array(path, "<f4", values, shape);
}

void write_npy(const std::string& path, const std::vector<int64_t>& values,
               const std::vector<uint64_t>& shape) {
  write_array(path, "<i8", values, shape);
}

}  // namespace ff
