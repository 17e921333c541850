// Dataset names -> file layout -> readers. The layout is the one tools/setup.sh (MNIST,
// Fashion-MNIST) creates and the one README tells users to build by hand (CIFAR-10, SVHN).
#include <filesystem>
#include <string>
#include <vector>

#include "ff/dataset.hpp"
#include "ff/error.hpp"

namespace ff {
namespace {

namespace fs = std::filesystem;

const char* const kCifarFiles = "data_batch_1.bin .. data_batch_5.bin and test_batch.bin";
const char* const kSvhnFiles = "train_32x32.mat and test_32x32.mat";

std::string join(const std::string& dir, const std::string& file) {
  return (fs::path(dir) / file).string();
}

bool exists(const std::string& path) {
  std::error_code ec;  // an unreadable path counts as missing; the reader then names the fault
  return fs::exists(path, ec);
}

// What to do when `dir` does not hold dataset `name`.
std::string how_to_get(const std::string& name, const std::string& dir) {
  if (name == "cifar10")
    return "CIFAR-10 cannot be downloaded here: place " + std::string(kCifarFiles) +
           " (the cifar-10-batches-bin folder of cifar-10-binary.tar.gz) in " + dir;
  if (name == "svhn")
    return "SVHN cannot be downloaded here: place " + std::string(kSvhnFiles) +
           " (cropped digits, format 2) in " + dir;
  return "run tools/setup.sh to fetch MNIST and Fashion-MNIST into data/";
}

// The readers do not return image dimensions, so each split is checked against the expected
// shape: an IDX file of another size must not be silently reinterpreted.
void check_shape(const ImageSet& set, const Dataset& ds, const std::string& split,
                 const std::string& dir) {
  if (set.images.size() != set.count * static_cast<size_t>(ds.pixels()))
    throw Error("dataset " + ds.name + " in " + dir + ": the " + split + " images are not " +
                std::to_string(ds.channels) + "x" + std::to_string(ds.height) + "x" +
                std::to_string(ds.width) + "; " + how_to_get(ds.name, dir));
}

void load_idx(Dataset& ds, const std::string& dir) {
  // read_idx_pair also accepts the .gz form of each name.
  ds.train =
      read_idx_pair(join(dir, "train-images-idx3-ubyte"), join(dir, "train-labels-idx1-ubyte"));
  ds.test = read_idx_pair(join(dir, "t10k-images-idx3-ubyte"), join(dir, "t10k-labels-idx1-ubyte"));
}

void load_cifar10(Dataset& ds, const std::string& dir) {
  // Accept the extracted tarball folder inside dir as well as the files directly in dir.
  std::string base = dir;
  const std::string nested = join(dir, "cifar-10-batches-bin");
  if (!exists(join(dir, "data_batch_1.bin")) && exists(join(nested, "data_batch_1.bin")))
    base = nested;
  std::vector<std::string> train_files;
  for (int i = 1; i <= 5; ++i)
    train_files.push_back(join(base, "data_batch_" + std::to_string(i) + ".bin"));
  ds.train = read_cifar10_batches(train_files);
  ds.test = read_cifar10_batches({join(base, "test_batch.bin")});
}

void load_svhn(Dataset& ds, const std::string& dir) {
  ds.train = read_svhn_mat(join(dir, "train_32x32.mat"));
  ds.test = read_svhn_mat(join(dir, "test_32x32.mat"));
}

}  // namespace

Dataset load_dataset(const std::string& name, const std::string& dir) {
  const bool idx = name == "mnist" || name == "fashion-mnist";
  // Filled locally and returned whole: a failure leaves the caller nothing partial.
  Dataset ds = dataset_layout(name);
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("dataset directory " + dir + " for " + name + " not found; " +
                how_to_get(name, dir));

  if (idx) load_idx(ds, dir);
  else if (name == "cifar10") load_cifar10(ds, dir);
  else load_svhn(ds, dir);
  check_shape(ds.train, ds, "train", dir);
  check_shape(ds.test, ds, "test", dir);
  return ds;
}

std::string missing_dataset_files(const std::string& name, const std::string& dir) {
  dataset_layout(name);  // an unknown name is an error, not missing data
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "no folder " + dir + "; " + how_to_get(name, dir);
  std::vector<std::string> files;
  if (name == "mnist" || name == "fashion-mnist") {
    for (const char* file : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}) {
      if (!exists(join(dir, file)) && !exists(join(dir, std::string(file) + ".gz")))
        files.push_back(file);
    }
  } else if (name == "cifar10") {
    const std::string nested = join(dir, "cifar-10-batches-bin");
    const std::string base = exists(join(dir, "data_batch_1.bin")) ? dir : nested;
    for (const char* file : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                             "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}) {
      if (!exists(join(base, file))) files.push_back(file);
    }
  } else {
    for (const char* file : {"train_32x32.mat", "test_32x32.mat"}) {
      if (!exists(join(dir, file))) files.push_back(file);
    }
  }
  if (files.empty()) return "";
  std::string list;
  for (const std::string& file : files) list += (list.empty() ? "" : ", ") + file;
  return "missing " + list + " in " + dir + "; " + how_to_get(name, dir);
}

void select_classes(Dataset& dataset, const std::vector<int>& classes) {
  if (classes.empty()) return;
  std::vector<int> new_label(256, -1);
  for (size_t k = 0; k < classes.size(); ++k)
    new_label[static_cast<size_t>(classes[k])] = static_cast<int>(k);
  const size_t pixels = static_cast<size_t>(dataset.pixels());
  for (ImageSet* set : {&dataset.train, &dataset.test}) {
    ImageSet kept;
    for (size_t i = 0; i < set->count; ++i) {
      const int label = new_label[set->labels[i]];
      if (label < 0) continue;
      kept.labels.push_back(static_cast<uint8_t>(label));
      kept.images.insert(kept.images.end(),
                         set->images.begin() + static_cast<std::ptrdiff_t>(i * pixels),
                         set->images.begin() + static_cast<std::ptrdiff_t>((i + 1) * pixels));
    }
    kept.count = kept.labels.size();
    *set = std::move(kept);
  }
  dataset.num_classes = static_cast<int>(classes.size());
}

void limit_images(ImageSet& set, size_t n, int pixels_per_image) {
  require(pixels_per_image > 0, "limit_images: pixels_per_image must be positive");
  if (n == 0 || n >= set.count) return;
  set.count = n;
  set.labels.resize(n);
  set.images.resize(n * static_cast<size_t>(pixels_per_image));
  // Release the dropped tail: a --train-limit run on a large set should not keep it resident.
  set.labels.shrink_to_fit();
  set.images.shrink_to_fit();
}

}  // namespace ff
