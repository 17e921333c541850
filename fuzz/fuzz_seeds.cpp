// fuzz_seeds DIR: a seed corpus per target in DIR/<target>/, small valid files of each real format
// (what the readers accept), so that fuzzing starts past every header.
#include <matio.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ff/checkpoint.hpp"
#include "ff/config.hpp"
#include "ff/dataset.hpp"
#include "ff/error.hpp"

namespace {

using Bytes = std::vector<uint8_t>;

Bytes idx(uint8_t dims, const std::vector<uint32_t>& shape, size_t count) {
  Bytes out = {0, 0, 0x08, dims};
  for (uint32_t d : shape)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  for (size_t i = 0; i < count; ++i) out.push_back(static_cast<uint8_t>(i * 7 % 10));
  return out;
}

Bytes gzip(const Bytes& data) {
  uLongf size = compressBound(data.size()) + 32;
  Bytes out(size);
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // gzip wrapper
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// The fuzz_idx input layout: two bytes of split, then the images file, then the labels file.
Bytes pair(const Bytes& images, const Bytes& labels) {
  Bytes out = {static_cast<uint8_t>(images.size() >> 8), static_cast<uint8_t>(images.size())};
  out.insert(out.end(), images.begin(), images.end());
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

void write(const std::filesystem::path& path, const Bytes& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

Bytes text(uint8_t selector, const std::string& body) {
  Bytes out = {selector};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

void write_svhn(const std::string& path, size_t n, bool compress) {
  std::vector<uint8_t> x(32 * 32 * 3 * n, 17);
  std::vector<uint8_t> y(n);
  for (size_t i = 0; i < n; ++i) y[i] = static_cast<uint8_t>(i % 10 + 1);
  size_t x_dims[4] = {32, 32, 3, n}, y_dims[2] = {n, 1};
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  const matio_compression mode = compress ? MAT_COMPRESSION_ZLIB : MAT_COMPRESSION_NONE;
  matvar_t* xv = Mat_VarCreate("X", MAT_C_UINT8, MAT_T_UINT8, 4, x_dims, x.data(), 0);
  Mat_VarWrite(mat, xv, mode);
  Mat_VarFree(xv);
  matvar_t* yv = Mat_VarCreate("y", MAT_C_UINT8, MAT_T_UINT8, 2, y_dims, y.data(), 0);
  Mat_VarWrite(mat, yv, mode);
  Mat_VarFree(yv);
  Mat_Close(mat);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 1;
  }
  const std::filesystem::path dir = argv[1];
  const Bytes images = idx(3, {3, 4, 5}, 60), labels = idx(1, {3}, 3);
  write(dir / "idx" / "pair", pair(images, labels));
  write(dir / "idx" / "mnist-shape", pair(idx(3, {2, 28, 28}, 2 * 784), idx(1, {2}, 2)));
  write(dir / "idx_gz" / "pair", pair(gzip(images), gzip(labels)));
  Bytes records;
  for (int i = 0; i < 2; ++i) {
    records.push_back(static_cast<uint8_t>(i + 3));
    for (int p = 0; p < 3072; ++p) records.push_back(static_cast<uint8_t>(p * 13 + i));
  }
  write(dir / "cifar10" / "two-records", records);
  std::filesystem::create_directories(dir / "svhn");
  write_svhn((dir / "svhn" / "compressed.mat").string(), 2, true);
  write_svhn((dir / "svhn" / "plain.mat").string(), 1, false);

  ff::Checkpoint checkpoint;
  checkpoint.tensors.push_back({"layers.0.weight", {2, 3}, {1, 2, 3, 4, 5, 6}});
  checkpoint.tensors.push_back({"layers.0.bias", {2}, {0.5f, -0.5f}});
  ff::TrainConfig config;
  config.layers_spec = "2x8";
  checkpoint.metadata = {{"schema", "1"},
                         {"config", ff::config_to_json(config).dump()},
                         {"next_epoch", "1"},
                         {"optimizer_steps", "10"},
                         {"dims", "784,8,8"}};
  std::filesystem::create_directories(dir / "checkpoint");
  ff::save_checkpoint((dir / "checkpoint" / "tiny.safetensors").string(), checkpoint);

  write(dir / "config" / "json", text(0, ff::config_to_json(config).dump()));
  write(dir / "config" / "layers", text(1, "784,2000,2000"));
  write(dir / "config" / "classes", text(2, "0,1,9"));
  write(dir / "config" / "score", text(3, "last3"));
  write(dir / "config" / "profile", text(4, "10:20"));
  write(dir / "config" / "task", text(5, "jigsaw"));
  write(dir / "config" / "whole", text(6, "4x2000"));

  // Each format's seed must be accepted by its reader: then fuzzing starts past the header.
  const std::filesystem::path check = dir / "accepted";
  write(check / "images", images);
  write(check / "labels", labels);
  write(check / "images.gz", gzip(images));
  write(check / "labels.gz", gzip(labels));
  int failures = 0;
  auto expect_read = [&](const char* what, auto read) {
    try {
      read();
      std::printf("seed accepted by its reader: %s\n", what);
    } catch (const ff::Error& e) {
      std::printf("seed REFUSED: %s: %s\n", what, e.what());
      ++failures;
    }
  };
  expect_read("idx",
              [&] { ff::read_idx_pair((check / "images").string(), (check / "labels").string()); });
  expect_read("idx_gz", [&] {
    ff::read_idx_pair((check / "images.gz").string(), (check / "labels.gz").string());
  });
  expect_read("cifar10",
              [&] { ff::read_cifar10_batches({(dir / "cifar10" / "two-records").string()}); });
  expect_read("svhn (compressed)",
              [&] { ff::read_svhn_mat((dir / "svhn" / "compressed.mat").string()); });
  expect_read("svhn (plain)", [&] { ff::read_svhn_mat((dir / "svhn" / "plain.mat").string()); });
  expect_read("checkpoint", [&] {
    const ff::Checkpoint loaded =
        ff::load_checkpoint((dir / "checkpoint" / "tiny.safetensors").string());
    ff::validate_config(ff::config_from_json(nlohmann::json::parse(loaded.metadata.at("config"))));
  });
  std::filesystem::remove_all(check);
  return failures == 0 ? 0 : 1;
}
