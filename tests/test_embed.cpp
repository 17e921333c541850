// ffcuda embed and what it stands on: the .npy writer (checked against NumPy's own reader), class
// subsets, per-layer probes, and embeddings equal to the probe's features for the same images.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "ff/checkpoint.hpp"
#include "ff/dataset.hpp"
#include "ff/npy.hpp"
#include "ff/run.hpp"
#include "ff/train_checkpoint.hpp"
#include "ff/trainer.hpp"
#include "test_paths.hpp"

namespace ff {
namespace {

namespace fs = std::filesystem;

// The output of `code` run by `interpreter`, or "FAILED: ..." with it when it fails.
std::string run_python(const std::string& interpreter, const std::string& code) {
  const std::string script = (fs::temp_directory_path() / "ffcuda_npy_check.py").string();
  std::ofstream(script) << code;
  FILE* pipe = popen((interpreter + " " + script + " 2>&1").c_str(), "r");
  std::string output;
  std::array<char, 512> buffer{};
  while (pipe && fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
  const int status = pipe ? pclose(pipe) : -1;
  return status == 0 ? output : "FAILED: " + output;
}

// A Python with NumPy: $FF_PYTHON, Debian's /usr/bin/python3, or the python3 on PATH ("": none).
const std::string& numpy_python() {
  static const std::string found = [] {
    std::vector<std::string> candidates = {"/usr/bin/python3", "python3"};
    if (const char* chosen = std::getenv("FF_PYTHON"))
      candidates.insert(candidates.begin(), chosen);
    for (const std::string& candidate : candidates) {
      if (run_python(candidate, "import numpy\nprint('ok')\n") == "ok\n") return candidate;
    }
    return std::string();
  }();
  return found;
}

bool have_numpy() { return !numpy_python().empty(); }
std::string python(const std::string& code) { return run_python(numpy_python(), code); }

std::string run_ffcuda(const std::string& arguments, int* status) {
  FILE* pipe = popen((testing_util::ffcuda_binary() + " " + arguments + " 2>&1").c_str(), "r");
  std::string output;
  std::array<char, 512> buffer{};
  while (pipe && fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
  *status = pipe ? pclose(pipe) : -1;
  return output;
}

// The data of an .npy file written by write_npy (header length at bytes 8-9).
std::vector<float> read_npy_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t header =
      10 + (static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8);
  std::vector<float> values((bytes.size() - header) / sizeof(float));
  std::memcpy(values.data(), bytes.data() + header, values.size() * sizeof(float));
  return values;
}

TEST(Npy, NumpyReadsWhatWeWrite) {
  if (!have_numpy())
    GTEST_SKIP()
        << "no Python with NumPy (FF_PYTHON, /usr/bin/python3, python3): run tools/setup.sh";
  const fs::path dir = fs::temp_directory_path() / "ffcuda_npy";
  fs::create_directories(dir);
  write_npy((dir / "f.npy").string(), std::vector<float>{1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, 7.0f},
            {2, 3});
  write_npy((dir / "i.npy").string(), std::vector<int64_t>{5, -1, 1LL << 40}, {3});
  // A header for 70000 x 20000 floats (5.6 GB: sizes past 32 bits), read by NumPy's own parser.
  std::ofstream((dir / "big.npy").string(), std::ios::binary) << npy_header("<f4", {70000, 20000});
  const std::string out = python(
      "import numpy as np\n"
      "f = np.load('" +
      (dir / "f.npy").string() +
      "')\n"
      "i = np.load('" +
      (dir / "i.npy").string() +
      "')\n"
      "print(f.dtype, f.shape, f.tolist())\n"
      "print(i.dtype, i.shape, i.tolist())\n"
      "with open('" +
      (dir / "big.npy").string() +
      "', 'rb') as h:\n"
      "    assert np.lib.format.read_magic(h) == (1, 0)\n"
      "    shape, fortran, dtype = np.lib.format.read_array_header_1_0(h)\n"
      "    print(shape, fortran, dtype, h.tell() % 64)\n");
  EXPECT_EQ(out,
            "float32 (2, 3) [[1.5, -2.0, 3.25], [0.0, 1.0000000031710769e-30, 7.0]]\n"
            "int64 (3,) [5, -1, 1099511627776]\n"
            "(70000, 20000) False float32 0\n");
  fs::remove_all(dir);
}

TEST(Classes, SelectionKeepsTheNamedClassesRenumbered) {
  Dataset d = dataset_layout("mnist");
  d.train.count = 6;
  d.train.labels = {3, 1, 7, 1, 0, 3};
  for (uint8_t i = 0; i < 6; ++i) d.train.images.insert(d.train.images.end(), 784, i);
  d.test = d.train;
  select_classes(d, parse_classes("1,3", 10));
  EXPECT_EQ(d.num_classes, 2);
  EXPECT_EQ(d.train.count, 4u);
  EXPECT_EQ(d.train.labels, (std::vector<uint8_t>{1, 0, 0, 1}));  // 3 -> 1, 1 -> 0
  EXPECT_EQ(d.train.images.size(), 4u * 784);
  EXPECT_EQ(d.train.images[784], 1);  // the second kept image is the second original one
  EXPECT_EQ(d.train.images[3 * 784], 5);
  EXPECT_THROW(parse_classes("1", 10), Error);
  EXPECT_THROW(parse_classes("1,1", 10), Error);
  EXPECT_THROW(parse_classes("0,10", 10), Error);
  EXPECT_TRUE(parse_classes("", 10).empty());
}

class EmbedRun : public ::testing::Test {
 protected:
  void SetUp() override {
    mnist_ = testing_util::mnist_dir();
    if (const std::string missing = testing_util::mnist_missing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    dir_ = fs::temp_directory_path() / "ffcuda_embed_test";
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string mnist_;
  fs::path dir_;
};

TEST_F(EmbedRun, TheEmbeddingIsWhatTheProbeSeesAndPerLayerProbesAreRecorded) {
  const std::string checkpoint = (dir_ / "run.safetensors").string();
  int status = 0;
  const std::string train = run_ffcuda("train --device cpu --data-dir " + mnist_ +
                                           " --task rotation --classes 0,1 --layers 2x16"
                                           " --epochs 1 --train-limit 300 --test-limit 120 --probe "
                                           "--probe-layers each --probe-epochs 2"
                                           " --save " +
                                           checkpoint + " --out " + (dir_ / "run").string(),
                                       &status);
  ASSERT_EQ(status, 0) << train;
  EXPECT_NE(train.find("transfer (linear probe, layer 2), classes"), std::string::npos) << train;
  std::ifstream result_file((dir_ / "run" / "result.json").string());
  const nlohmann::json result = nlohmann::json::parse(result_file);
  ASSERT_EQ(result.at("probe_acc_per_layer").size(), 2u);
  EXPECT_TRUE(result.contains("probe_acc"));
  EXPECT_EQ(result.at("config").at("classes"), "0,1");

  const std::string out = (dir_ / "embed").string();
  const std::string embed = run_ffcuda("embed --device cpu --checkpoint " + checkpoint +
                                           " --data-dir " + mnist_ + " --layers all --out " + out,
                                       &status);
  ASSERT_EQ(status, 0) << embed;
  std::ifstream meta_file(out + "/meta.json");
  const nlohmann::json meta = nlohmann::json::parse(meta_file);
  EXPECT_EQ(meta.at("count"), 120);
  EXPECT_EQ(meta.at("features").at(0).at("file"), "features_all.npy");

  // The probe's features for the same images, computed here from the same checkpoint.
  const Checkpoint saved = load_checkpoint(checkpoint);
  TrainConfig config = checkpoint_config(saved, checkpoint);
  config.data_dir = mnist_;
  const Dataset dataset = load_run_dataset(config);
  const std::unique_ptr<Backend> cpu = make_cpu_backend();
  Trainer trainer(*cpu, config, dataset);
  restore_training_checkpoint(saved, checkpoint, trainer.model(), config, false);
  const std::vector<float> probe_features =
      trainer.evaluator().extract_features(trainer.test_split(), {0, 1}).download();
  EXPECT_EQ(read_npy_floats(out + "/features_all.npy"), probe_features);

  if (!have_numpy())
    GTEST_SKIP()
        << "no Python with NumPy (FF_PYTHON, /usr/bin/python3, python3): run tools/setup.sh";
  const std::string check = python(
      "import numpy as np\n"
      "f = np.load('" +
      out +
      "/features_all.npy')\n"
      "l = np.load('" +
      out +
      "/labels.npy')\n"
      "print(f.dtype, f.shape, l.dtype, l.shape, sorted(set(l.tolist())))\n");
  EXPECT_EQ(check, "float32 (120, 32) int64 (120,) [0, 1]\n");

  // --label true on the pretext task: transformed images and their drawn rotation.
  const std::string truth =
      run_ffcuda("embed --device cpu --checkpoint " + checkpoint + " --data-dir " + mnist_ +
                     " --layers each --label true"
                     " --limit 50 --out " +
                     out + "-true",
                 &status);
  ASSERT_EQ(status, 0) << truth;
  EXPECT_TRUE(fs::exists(out + "-true/features_layer1.npy"));
  EXPECT_TRUE(fs::exists(out + "-true/features_layer2.npy"));
  EXPECT_EQ(python("import numpy as np\n"
                   "p = np.load('" +
                   out +
                   "-true/pretext_labels.npy')\n"
                   "print(p.shape, p.min() >= 0, p.max() <= 3, len(set(p.tolist())) > 1)\n"),
            "(50,) True True True\n");
  // A label the task does not have: one clear line.
  const std::string bad =
      run_ffcuda("embed --device cpu --checkpoint " + checkpoint + " --data-dir " + mnist_ +
                     " --label 7 --out " + out + "-bad",
                 &status);
  EXPECT_NE(status, 0);
  EXPECT_EQ(bad.rfind("ffcuda: error: ", 0), 0u) << bad;
}

}  // namespace
}  // namespace ff
