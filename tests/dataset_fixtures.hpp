// Writers of the datasets' real on-disk formats (IDX plain and gzip, CIFAR-10 binary records, SVHN
// MATLAB v5 with zlib-compressed elements via libmatio), for reader tests and small synthetic
// datasets in those formats.
#pragma once

#include <gtest/gtest.h>
#include <matio.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace ff::testing_util {

using Bytes = std::vector<uint8_t>;

// A distinct-enough value per (image, channel, row, col): swapping row and col changes it, so a
// transposed or channel-shuffled reader fails the exact comparisons below.
inline uint8_t pixel(size_t n, size_t ch, size_t r, size_t c) {
  return static_cast<uint8_t>((n * 37 + ch * 71 + r * 13 + c * 5) % 251);
}

// Images [n][channels][h][w], each plane row-major: the layout every reader must return.
inline Bytes planes(size_t n, size_t channels, size_t h, size_t w) {
  Bytes out;
  for (size_t i = 0; i < n; ++i)
    for (size_t ch = 0; ch < channels; ++ch)
      for (size_t r = 0; r < h; ++r)
        for (size_t c = 0; c < w; ++c) out.push_back(pixel(i, ch, r, c));
  return out;
}

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr) << path;
  ASSERT_EQ(gzwrite(file, bytes.data(), unsigned(bytes.size())), int(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// n records with labels first_label, first_label + 1, ... (mod 10).
inline Bytes cifar_records(size_t n, size_t first_label) {
  const Bytes pixels = planes(n, 3, 32, 32);
  Bytes out(n * 3073);
  for (size_t i = 0; i < n; ++i) {
    out[i * 3073] = static_cast<uint8_t>((first_label + i) % 10);
    std::copy_n(pixels.begin() + i * 3072, 3072, out.begin() + i * 3073 + 1);
  }
  return out;
}

// SVHN as MATLAB writes it: X(r,c,ch,n) at r + 32c + 1024ch + 3072n, y an [N,1] column.
// x_dims other than {32,32,3,N} make a wrong-shape X (all zeros).
inline void write_svhn(const std::string& path, std::vector<size_t> x_dims, std::vector<double> y,
                       bool y_as_double = false, bool write_y = true) {
  const size_t n = x_dims.size() == 4 ? x_dims[3] : 0;
  const Bytes row_major = planes(n, 3, 32, 32);
  Bytes x(32 * 32 * 3 * std::max<size_t>(n, 1), 0);
  for (size_t plane = 0; plane < n * 3; ++plane)  // transpose each 32x32 plane
    for (size_t i = 0; i < 1024; ++i)
      x[plane * 1024 + i % 32 * 32 + i / 32] = row_major[plane * 1024 + i];
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  ASSERT_NE(mat, nullptr) << path;
  matvar_t* xv = Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, static_cast<int>(x_dims.size()),
                               x_dims.data(), x.data(), 0);
  ASSERT_EQ(Mat_VarWrite(mat, xv, MAT_COMPRESSION_ZLIB), 0);
  Mat_VarFree(xv);
  if (write_y) {
    size_t y_dims[2] = {y.size(), 1};
    Bytes y8(y.begin(), y.end());
    matvar_t* yv = y_as_double
                       ? Mat_VarCreate("y", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, y_dims, y.data(), 0)
                       : Mat_VarCreate("y", MAT_C_UINT8, MAT_T_UINT8, 2, y_dims, y8.data(), 0);
    ASSERT_EQ(Mat_VarWrite(mat, yv, MAT_COMPRESSION_ZLIB), 0);
    Mat_VarFree(yv);
  }
  Mat_Close(mat);
}

// A CIFAR-10 folder (data_batch_1..5.bin, test_batch.bin) of `per_batch` training images per batch
// and `test` test images, labels cycling through 0..9.
inline void write_cifar10_folder(const std::string& dir, size_t per_batch, size_t test) {
  std::filesystem::create_directories(dir);
  for (int i = 1; i <= 5; ++i) {
    write_file(dir + "/data_batch_" + std::to_string(i) + ".bin", cifar_records(per_batch, i));
  }
  write_file(dir + "/test_batch.bin", cifar_records(test, 0));
}

// An SVHN folder (train_32x32.mat, test_32x32.mat), labels 1..10 as SVHN stores them (10 is 0).
inline void write_svhn_folder(const std::string& dir, size_t train, size_t test) {
  std::filesystem::create_directories(dir);
  for (const auto& [name, count] :
       {std::pair<const char*, size_t>{"train", train}, {"test", test}}) {
    std::vector<double> y;
    for (size_t i = 0; i < count; ++i) y.push_back(static_cast<double>(i % 10 + 1));
    write_svhn(dir + "/" + name + "_32x32.mat", {32, 32, 3, count}, y);
  }
}

}  // namespace ff::testing_util
