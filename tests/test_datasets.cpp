// Dataset readers against small fixtures written in the exact on-disk formats (IDX plain and
// gzip, CIFAR-10 binary records, SVHN MATLAB v5 with zlib-compressed elements via libmatio), and
// every malformed-input case each reader must refuse with an ff::Error naming the file.
#include <gtest/gtest.h>
#include <matio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "dataset_fixtures.hpp"
#include "ff/dataset.hpp"
#include "ff/error.hpp"
#include "ff/task.hpp"
#include "test_paths.hpp"
#include "test_util.hpp"

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

using namespace ff::testing_util;  // the format writers

// A fresh directory per test (named after it), removed afterwards.
struct TempDir {
  fs::path path =
      fs::temp_directory_path() / ("ff_datasets_" + std::to_string(getpid()) + "_" +
                                   testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

Bytes idx(uint8_t type, const std::vector<uint32_t>& dims, const Bytes& data) {
  return ff::testing_util::idx_file(type, dims, data);
}

Bytes idx_images(uint32_t n, uint32_t h, uint32_t w) {
  return idx(0x08, {n, h, w}, planes(n, 1, h, w));
}
Bytes idx_labels(const Bytes& labels) {
  return idx(0x08, {static_cast<uint32_t>(labels.size())}, labels);
}

// Expects `f` to throw an ff::Error whose message contains every one of `parts`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  std::string message = "<no ff::Error thrown>";
  try {
    f();
  } catch (const ff::Error& e) {
    message = e.what();
  }
  for (const std::string& part : parts)
    EXPECT_NE(message.find(part), std::string::npos) << "'" << part << "' not in: " << message;
}

}  // namespace

TEST(DatasetsIdx, ReadsPlainAndGzipPixelsExactly) {
  TempDir dir;
  write_file(dir.file("img"), idx_images(3, 4, 5));
  write_gz(dir.file("lab.gz"), idx_labels({7, 0, 9}));
  // "lab" exists only as lab.gz and is found through its twin.
  const ff::ImageSet set = ff::read_idx_pair(dir.file("img"), dir.file("lab"));
  ASSERT_EQ(set.count, 3u);
  EXPECT_EQ(set.labels, (Bytes{7, 0, 9}));
  EXPECT_EQ(set.images, planes(3, 1, 4, 5));
  // And the other way round: a .gz name whose file exists uncompressed.
  EXPECT_EQ(ff::read_idx_pair(dir.file("img.gz"), dir.file("lab.gz")).images, set.images);
}

TEST(DatasetsIdx, RefusesMalformedFiles) {
  TempDir dir;
  const std::string img = dir.file("img"), lab = dir.file("lab");
  write_file(lab, idx_labels({1, 2, 3}));
  auto read = [&] { ff::read_idx_pair(img, lab); };
  expect_error(read, {img, "not found", "tools/setup.sh"});
  const std::vector<std::pair<Bytes, std::string>> cases = {
      {Bytes(76, 0x1f), "magic"},
      {idx(0x0d, {3, 4, 5}, Bytes(60, 0)), "element type"},  // float elements
      {idx_labels({1, 2, 3}), "swapped"},
      {idx(0x08, {3, 4, 5}, Bytes(59, 0)), "truncated"},
      {Bytes{0, 0, 8}, "truncated"},
      {idx(0x08, {~0u, ~0u, ~0u}, Bytes(60, 0)), "truncated"},  // and no huge allocation
      {idx(0x08, {0, 4, 5}, {}), "holds no images"},
      {idx(0x08, {3, 4, 5}, Bytes(61, 0)), "corrupt"},  // trailing bytes
      {idx_images(2, 4, 5), "count"},
  };
  for (const auto& [bytes, fault] : cases) {
    write_file(img, bytes);
    expect_error(read, {img, fault});
  }
  write_file(img, idx_images(3, 4, 5));
  write_file(lab, idx_labels({1, 10, 3}));
  expect_error(read, {lab, "label 10"});
}

TEST(DatasetsIdx, RefusesTruncatedGzip) {
  TempDir dir;
  const std::string img = dir.file("img.gz"), lab = dir.file("lab");
  write_file(lab, idx_labels({1, 2, 3}));
  write_gz(img, idx_images(3, 4, 5));
  fs::resize_file(img, fs::file_size(img) / 2);
  expect_error([&] { ff::read_idx_pair(img, lab); }, {img, "truncated"});
}

TEST(DatasetsCifar10, ReadsRecordsChannelMajorAcrossBatches) {
  TempDir dir;
  write_file(dir.file("a.bin"), cifar_records(2, 3));
  write_file(dir.file("b.bin"), cifar_records(1, 9));
  const ff::ImageSet set = ff::read_cifar10_batches({dir.file("a.bin"), dir.file("b.bin")});
  ASSERT_EQ(set.count, 3u);
  EXPECT_EQ(set.labels, (Bytes{3, 4, 9}));
  EXPECT_EQ(Bytes(set.images.begin(), set.images.begin() + 2 * 3072), planes(2, 3, 32, 32));
  EXPECT_EQ(Bytes(set.images.begin() + 2 * 3072, set.images.end()), planes(1, 3, 32, 32));
}

TEST(DatasetsCifar10, RefusesMalformedFiles) {
  TempDir dir;
  const std::string path = dir.file("data_batch_1.bin");
  auto read = [&] { ff::read_cifar10_batches({path}); };
  expect_error(read, {path, "not found"});
  for (const size_t size : {0, 3073 * 2 - 1, 3073 + 1}) {
    write_file(path, Bytes(size, 0));
    expect_error(read, {path, "3073"});
  }
  Bytes bad = cifar_records(2, 0);
  bad[3073] = 10;  // label of the second record
  write_file(path, bad);
  expect_error(read, {path, "label 10"});
}

TEST(DatasetsSvhn, ReadsMatTransposingPlanesAndMapping10To0) {
  TempDir dir;
  for (const bool as_double : {false, true}) {
    const std::string path = dir.file(as_double ? "d.mat" : "u.mat");
    write_svhn(path, {32, 32, 3, 3}, {10, 1, 9}, as_double);
    const ff::ImageSet set = ff::read_svhn_mat(path);
    ASSERT_EQ(set.count, 3u);
    EXPECT_EQ(set.labels, (Bytes{0, 1, 9}));
    EXPECT_EQ(set.images, planes(3, 3, 32, 32));
  }
}

TEST(DatasetsSvhn, RefusesMalformedFiles) {
  TempDir dir;
  const std::string path = dir.file("train_32x32.mat");
  auto read = [&] { ff::read_svhn_mat(path); };
  expect_error(read, {path, "not found"});
  write_file(path, Bytes(300, 'x'));
  expect_error(read, {path, "not a MATLAB"});
  struct Case {  // one malformed file: X shape, y values, y type, whether y is written at all
    std::vector<size_t> x_dims;
    std::vector<double> y;
    bool y_as_double, write_y;
    std::string fault;
  };
  for (const Case& c : std::vector<Case>{{{32, 32, 3, 2}, {1, 2}, false, false, "variable 'y'"},
                                         {{32, 32, 2}, {1, 2}, false, true, "'X' is uint8 32x32x2"},
                                         {{32, 32, 3, 2}, {1, 2, 3}, false, true, "2 images but 3"},
                                         {{32, 32, 3, 2}, {1, 11}, false, true, "label 11"},
                                         {{32, 32, 3, 2}, {0, 1}, false, true, "label 0"},
                                         {{32, 32, 3, 2}, {1, 2.5}, true, true, "label 2.5"}}) {
    write_svhn(path, c.x_dims, c.y, c.y_as_double, c.write_y);
    expect_error(read, {path, c.fault});
  }
  write_svhn(path, {32, 32, 3, 2}, {1, 2});
  fs::resize_file(path, fs::file_size(path) / 2);
  expect_error(read, {path, "truncated"});
  write_svhn(path, {32, 32, 3, 2}, {1, 2});  // then one byte of X's compressed pixels changed
  std::fstream(path, std::ios::in | std::ios::out | std::ios::binary).seekp(150).put('\x5a');
  expect_error(read, {path, "corrupt"});
}

TEST(DatasetsLoad, LayoutsNamesAndLimits) {
  TempDir dir;
  const std::string mnist = dir.file("mnist");
  fs::create_directories(mnist);
  write_file(mnist + "/train-images-idx3-ubyte", idx_images(3, 28, 28));
  write_file(mnist + "/train-labels-idx1-ubyte", idx_labels({5, 0, 4}));
  write_gz(mnist + "/t10k-images-idx3-ubyte.gz", idx_images(2, 28, 28));
  write_gz(mnist + "/t10k-labels-idx1-ubyte.gz", idx_labels({7, 2}));
  ff::Dataset ds = ff::load_dataset("fashion-mnist", mnist);
  EXPECT_EQ(ds.name, "fashion-mnist");
  EXPECT_EQ(ds.pixels(), 784);
  EXPECT_EQ(ds.num_classes, 10);
  EXPECT_EQ(ds.train.count, 3u);
  EXPECT_EQ(ds.test.labels, (Bytes{7, 2}));
  const Bytes first_two(ds.train.images.begin(), ds.train.images.begin() + 2 * 784);
  ff::limit_images(ds.train, 2, ds.pixels());
  EXPECT_EQ(ds.train.count, 2u);
  EXPECT_EQ(ds.train.labels, (Bytes{5, 0}));
  EXPECT_EQ(ds.train.images, first_two);
  ff::limit_images(ds.test, 0, ds.pixels());  // 0 and n >= count keep everything
  ff::limit_images(ds.test, 5, ds.pixels());
  EXPECT_EQ(ds.test.count, 2u);

  write_file(mnist + "/t10k-images-idx3-ubyte", idx_images(2, 32, 32));  // plain file wins
  expect_error([&] { ff::load_dataset("mnist", mnist); }, {"not 1x28x28"});

  const std::string nested = dir.file("cifar10/cifar-10-batches-bin");
  fs::create_directories(nested);
  for (int i = 1; i <= 5; ++i)
    write_file(nested + "/data_batch_" + std::to_string(i) + ".bin", cifar_records(2, i));
  write_file(nested + "/test_batch.bin", cifar_records(1, 0));
  ds = ff::load_dataset("cifar10", dir.file("cifar10"));
  EXPECT_EQ(ds.pixels(), 3072);
  EXPECT_EQ(ds.train.count, 10u);
  EXPECT_EQ(ds.test.count, 1u);

  expect_error([&] { ff::load_dataset("imagenet", mnist); }, {"imagenet", "mnist, fashion-mnist"});
  expect_error([&] { ff::load_dataset("mnist", dir.file("none")); }, {"none", "tools/setup.sh"});
  expect_error([&] { ff::load_dataset("svhn", dir.file("none")); }, {"train_32x32.mat"});
  expect_error([&] { ff::load_dataset("svhn", mnist); }, {"train_32x32.mat", "not found"});
}

TEST(DatasetsTask, NamesRoundTrip) {
  for (const char* name : {"supervised", "rotation", "flip-h", "flip-hv", "jigsaw", "unsupervised"})
    EXPECT_EQ(ff::task_name(ff::parse_task(name)), name);
  expect_error([] { ff::parse_task("colorize"); }, {"colorize", "supervised", "jigsaw"});
}

TEST(DatasetsReal, MnistFromSetup) {
  const std::string dir = ff::testing_util::mnist_dir();
  if (!fs::exists(dir + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << "MNIST not present in " << dir << " (run tools/fetch_data.sh)";
  const ff::Dataset ds = ff::load_dataset("mnist", dir);
  EXPECT_EQ(ds.train.count, 60000u);
  EXPECT_EQ(ds.test.count, 10000u);
  EXPECT_EQ(ds.pixels(), 784);
  EXPECT_EQ(ds.train.labels[0], 5);
}
