// The table of bad inputs: each command must print exactly one line "ffcuda: error: ..." naming
// what is wrong, exit non-zero, and leave the file system as it was (no new file, no changed
// file: the folder it works in is compared before and after). The data are small IDX files
// written here (50 MNIST-shaped images), so no case depends on a download.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ff/checkpoint.hpp"
#include "ff/config.hpp"
#include "test_paths.hpp"
#include "test_util.hpp"

namespace ff {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

void write(const fs::path& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// An MNIST folder of `count` 28x28 images, labels i % 10, optionally damaged.
void write_mnist(const fs::path& dir, uint32_t count, const Bytes& labels_override = {},
                 size_t image_bytes_dropped = 0, bool wrong_magic = false) {
  fs::create_directories(dir);
  Bytes pixels(static_cast<size_t>(count) * 784);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 31);
  Bytes images = testing_util::idx_file(wrong_magic ? 0x09 : 0x08, {count, 28, 28}, pixels);
  images.resize(images.size() - image_bytes_dropped);
  Bytes labels = labels_override;
  if (labels.empty()) {
    for (uint32_t i = 0; i < count; ++i) labels.push_back(static_cast<uint8_t>(i % 10));
  }
  const Bytes label_file =
      testing_util::idx_file(0x08, {static_cast<uint32_t>(labels.size())}, labels);
  for (const char* split : {"train", "t10k"}) {
    write(dir / (std::string(split) + "-images-idx3-ubyte"), images);
    write(dir / (std::string(split) + "-labels-idx1-ubyte"), label_file);
  }
}

// Every file under `dir` with its size and contents.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string contents;
    if (entry.is_regular_file()) {
      std::ifstream in(entry.path(), std::ios::binary);
      contents.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    files[entry.path().string()] = (entry.is_directory() ? "dir:" : "file:") + contents;
  }
  return files;
}

struct Outcome {
  int status;
  std::string output;
};

Outcome run(const std::string& arguments) {
  FILE* pipe = popen((testing_util::ffcuda_binary() + " " + arguments + " 2>&1").c_str(), "r");
  std::string output;
  std::array<char, 512> buffer{};
  while (pipe && fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
  return {pipe ? pclose(pipe) : -1, output};
}

class BadInputs : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / "ffcuda_bad_inputs";
    fs::remove_all(root_);
    write_mnist(root_ / "mnist", 200);
    write_mnist(root_ / "few", 50);
    fs::create_directories(root_ / "empty");
    write_mnist(root_ / "truncated", 200, {}, 1000);
    write_mnist(root_ / "magic", 200, {}, 0, true);
    write_mnist(root_ / "count", 200, Bytes(150, 1));  // 150 labels for 200 images
    Bytes bad_label(200, 3);
    bad_label[17] = 12;  // no class 12 in MNIST
    write_mnist(root_ / "label", 200, bad_label);
    write(root_ / "a_file", Bytes{'x'});
    // Checkpoints: a real one (2x8 on the 200 images), then damaged copies of it.
    const Outcome made = run("train --device cpu --data-dir " + dir("mnist") +
                             " --layers 2x8 --epochs 1 --fast-epochs 0 --save " +
                             dir("good.safetensors") + " --out " + dir("made"));
    ASSERT_EQ(made.status, 0) << made.output;
    std::ifstream in(dir("good.safetensors"), std::ios::binary);
    const Bytes good((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Bytes corrupt = good;
    corrupt[corrupt.size() - 5] ^= 0xff;  // a data byte: the checksum no longer matches
    write(root_ / "corrupt.safetensors", corrupt);
    write(root_ / "truncated.safetensors", Bytes(good.begin(), good.begin() + good.size() / 2));
    write(root_ / "random.safetensors", Bytes(300, 0x5a));
    Checkpoint newer = load_checkpoint(dir("good.safetensors"));
    newer.metadata["schema"] = std::to_string(kSchemaVersion + 1);
    save_checkpoint(dir("newer.safetensors"), newer);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string dir(const std::string& name) const { return (root_ / name).string(); }
  fs::path root_;
};

TEST_F(BadInputs, EachIsOneClearLineANonZeroExitAndNothingWritten) {
  const std::string mnist = " --device cpu --data-dir " + dir("mnist") + " --layers 2x8 --epochs 1";
  const std::string out = " --out " + dir("never");
  struct Case {
    std::string arguments, expected;
  };
  const std::vector<Case> cases = {
      {"train --nosuch 3" + mnist + out, "--nosuch"},
      {"frobnicate", "unknown subcommand"},
      {"train --epochs -1 --device cpu --data-dir " + dir("mnist") + out, "--epochs"},
      {"train" + mnist + " --epochs abc" + out, "--epochs"},
      {"train --batch 0" + mnist + out, "--batch"},
      {"train --batch -5" + mnist + out, "--batch"},
      {"train --device cpu --data-dir " + dir("mnist") + " --layers 0x10" + out, "--layers"},
      {"train --device cpu --data-dir " + dir("mnist") + " --layers 2x0" + out, "--layers"},
      {"train --device cpu --data-dir " + dir("mnist") + " --layers wide" + out, "--layers"},
      {"train --lr nan" + mnist + out, "--lr"},
      {"train --lr inf" + mnist + out, "--lr"},
      {"train --lr -1" + mnist + out, "--lr"},
      {"train --threshold -3" + mnist + out, "--threshold"},
      {"train --train-limit -1" + mnist + out, "--train-limit"},
      {"train --eval-every -2" + mnist + out, "--eval-every"},
      {"train --probe --probe-layers 9" + mnist + out, "--probe-layers"},
      {"train --probe --probe-epochs 0" + mnist + out, "--probe-epochs"},
      {"train --classes 1" + mnist + out, "--classes"},
      {"train --classes 0,10" + mnist + out, "--classes"},
      {"train --dataset imagenet --device cpu" + out, "imagenet"},
      {"train --task spin" + mnist + out, "--task"},
      {"train --goodness max" + mnist + out, "--goodness"},
      {"train --device tpu" + out, "--device"},
      {"train --device cpu --data-dir " + dir("missing") + out, dir("missing")},
      {"train --device cpu --data-dir " + dir("empty") + out, "train-images-idx3-ubyte"},
      {"train --device cpu --data-dir " + dir("truncated") + out, "truncated"},
      {"train --device cpu --data-dir " + dir("magic") + out, "element type"},
      {"train --device cpu --data-dir " + dir("count") + out, "count"},
      {"train --device cpu --data-dir " + dir("label") + out, "label"},
      {"train --device cpu --data-dir " + dir("few") + " --layers 2x8 --batch 100" + out,
       "fewer than one batch"},
      {"train --resume " + dir("missing.safetensors") + mnist + out, "missing.safetensors"},
      {"train --resume " + dir("corrupt.safetensors") + mnist + out, "checksum"},
      {"train --resume " + dir("truncated.safetensors") + mnist + out, "truncated.safetensors"},
      {"train --resume " + dir("random.safetensors") + mnist + out, "random.safetensors"},
      {"train --resume " + dir("good.safetensors") + " --device cpu --data-dir " + dir("mnist") +
           " --layers 2x16 --epochs 2" + out,
       "different configuration"},
      // The checkpoint holds no classifier trained alongside to continue.
      {"train --resume " + dir("good.safetensors") + " --device cpu --data-dir " + dir("mnist") +
           " --layers 2x8 --epochs 2 --track-linear" + out,
       "track_linear"},
      {"train --negatives hard" + mnist + out, "--track-linear"},
      {"train --negatives hard --track-linear --task rotation" + mnist + out, "--task supervised"},
      {"train --negatives hard --track-linear --algo bp-ce" + mnist + out, "bp-ce"},
      {"train --negatives sometimes" + mnist + out, "--negatives"},
      {"train --peer-norm -0.1" + mnist + out, "--peer-norm"},
      {"train --peer-norm nan" + mnist + out, "--peer-norm"},
      {"train --peer-norm 0.03 --algo bp-goodness-all" + mnist + out, "--algo ff"},
      {"train --track-linear --track-lr 0" + mnist + out, "--track-lr"},
      {"train --resume " + dir("newer.safetensors") + mnist + out, "schema version"},
      {"train" + mnist + " --out " + dir("a_file"), "is a file"},
      // A folder no one can create, not even root (these tests may run as root).
      {"train" + mnist + " --out /proc/ffcuda-unwritable", "/proc/ffcuda-unwritable"},
      {"train" + mnist + " --save " + dir("a_file") + "/run.safetensors" + out, "is a file"},
      {"probe --device cpu --checkpoint " + dir("missing.safetensors") + out,
       "missing.safetensors"},
      {"probe --device cpu --checkpoint " + dir("newer.safetensors") + out, "schema version"},
      {"embed --device cpu --checkpoint " + dir("good.safetensors") + " --label 99 --out " +
           dir("never"),
       "--label 99"},
      {"embed --device cpu --checkpoint " + dir("good.safetensors") + " --split validation --out " +
           dir("never"),
       "--split"},
      {"bench --device cpu --iters 0", "--iters"},
      {"study --datasets mnist --device cpu", "needs --out"},
      {"study --datasets imagenet" + out, "unknown --datasets entry 'imagenet'"},
      {"study --task rotation" + out, "--task"},
      {"study --sweep lr" + out, "--sweep"},
      {"study --preset huge" + out, "--preset"},
      {"study --epochs -1 --datasets mnist --device cpu" + out, "--epochs"},
      {"study --out " + dir("a_file"), "is a file"},
      {"study --report " + dir("missing"), "study.json"},
      {"study --report " + dir("mnist") + " " + dir("missing"), "study.json"},
      {"study --datasets mnist --device cpu --shard 3/2" + out, "--shard '3/2': write I/N"},
      {"study --datasets mnist --device cpu --shard 0/2" + out, "--shard '0/2'"},
      {"study --datasets mnist --device cpu --shard x" + out, "--shard 'x'"},
      {"study --datasets mnist --device cpu --jobs 0" + out, "--jobs 0"},
      {"study --datasets mnist --device cpu --jobs many" + out, "--jobs"},
      {"study --datasets mnist --gpus a" + out, "--gpus 'a'"},
      {"study --datasets mnist --gpus 0,0" + out, "--gpus '0,0'"},
      {"study --datasets mnist --jobs 2 --gpus 0,1" + out, "--jobs and --gpus"},
      {"study --datasets mnist --device cpu --gpus 0,1" + out, "--gpus with --device cpu"},
      {"study --run-cell {}" + out, "--run-cell"},
  };
  ASSERT_GE(cases.size(), 30u);
  for (const Case& c : cases) {
    const auto before = snapshot(root_);
    const Outcome r = run(c.arguments);
    EXPECT_NE(r.status, 0) << c.arguments;
    EXPECT_EQ(r.output.rfind("ffcuda: error: ", 0), 0u) << c.arguments << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << c.arguments << "\n"
                                                                     << r.output;
    EXPECT_NE(r.output.find(c.expected), std::string::npos)
        << c.arguments << "\nexpected '" << c.expected << "' in: " << r.output;
    EXPECT_EQ(snapshot(root_), before) << c.arguments << ": the file system changed";
  }
}

}  // namespace
}  // namespace ff
