// Datasets in one in-memory layout: images uint8, [count][channels][height][width] (channel-major,
// each plane row-major), labels uint8 in [0, num_classes). Readers validate everything and throw
// ff::Error naming the file and the fault; nothing is ever partially loaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ff {

struct ImageSet {
  std::vector<uint8_t> images;  // count * channels * height * width
  std::vector<uint8_t> labels;  // count
  size_t count = 0;
};

struct Dataset {
  std::string name;  // mnist | fashion-mnist | cifar10 | svhn
  int channels = 0, height = 0, width = 0;
  int num_classes = 10;
  ImageSet train, test;

  int pixels() const { return channels * height * width; }
};

// The shape of dataset `name` (channels, height, width, classes) with no images: what a run can be
// checked against before any file is read. Throws ff::Error for an unknown name.
Dataset dataset_layout(const std::string& name);

// Loads `name` from `dir` (the layout tools/setup.sh creates, see README). Throws ff::Error for an
// unknown name, a missing or corrupt file, or inconsistent counts.
Dataset load_dataset(const std::string& name, const std::string& dir);

// "" when `dir` holds every file dataset `name` is read from (whether they are valid is the
// readers' business); otherwise one line naming what is missing and where to put it.
std::string missing_dataset_files(const std::string& name, const std::string& dir);

// Keeps only the images of `classes` (the order gives the new labels: classes[k] becomes k) in
// both splits and sets num_classes to their number. Empty: every class, unchanged.
void select_classes(Dataset& dataset, const std::vector<int>& classes);

// Keeps the first n images of a split (n = 0 keeps all). Used by --train-limit / --test-limit.
void limit_images(ImageSet& set, size_t n, int pixels_per_image);

// Individual readers, exposed for tests.
// IDX (big-endian, magic 2051 images / 2049 labels); `path` may end in .gz (read through zlib).
ImageSet read_idx_pair(const std::string& images_path, const std::string& labels_path);
// CIFAR-10 binary batches: records of 1 label byte + 3072 pixel bytes, no header.
ImageSet read_cifar10_batches(const std::vector<std::string>& paths);
// SVHN cropped digits .mat (MATLAB v5): X uint8 [32,32,3,N] column-major, y [N,1] in 1..10.
ImageSet read_svhn_mat(const std::string& path);

}  // namespace ff
