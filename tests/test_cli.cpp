// The ffcuda command on bad input: one clear line on stderr, non-zero exit, nothing written.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "ff/checkpoint.hpp"
#include "ff/config.hpp"
#include "test_paths.hpp"

namespace {

struct CommandResult {
  int status;
  std::string output;  // stdout and stderr together
};

CommandResult run_ffcuda(const std::string& arguments) {
  const std::string command = ff::testing_util::ffcuda_binary() + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  std::array<char, 512> buffer{};
  while (pipe && fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
  const int status = pipe ? pclose(pipe) : -1;
  return {status, output};
}

void expect_clean_failure(const std::string& arguments, const std::string& expected) {
  const CommandResult r = run_ffcuda(arguments);
  EXPECT_NE(r.status, 0) << arguments;
  EXPECT_NE(r.output.find(expected), std::string::npos) << arguments << "\n" << r.output;
  EXPECT_NE(r.output.find("ffcuda: error: "), std::string::npos) << r.output;
}

TEST(Cli, BadInputGivesOneClearLineAndNonZeroExit) {
  const std::string out = (std::filesystem::temp_directory_path() / "ffcuda_cli_test").string();
  const std::string common = " --device cpu --out " + out + " ";
  expect_clean_failure("train --dataset nosuch" + common, "nosuch");
  expect_clean_failure("train --data-dir /nonexistent/mnist" + common, "/nonexistent/mnist");
  expect_clean_failure("train --task spin --data-dir /tmp" + common, "spin");
  expect_clean_failure("train --layers 4y2000" + common, "--layers");
  expect_clean_failure("train --goodness max" + common, "--goodness");
  expect_clean_failure("train --device tpu --out " + out, "tpu");
  EXPECT_FALSE(std::filesystem::exists(out + "/result.json"));
}

// Exactly one line of output, "ffcuda: error: ..." naming `expected`, and a non-zero exit. The
// data folder does not exist: had the command read data (or trained) first, it would have failed
// on that instead.
void expect_refused_before_data(const std::string& arguments, const std::string& expected) {
  const CommandResult r = run_ffcuda(arguments + " --data-dir /nonexistent/ffcuda-data");
  EXPECT_NE(r.status, 0) << arguments;
  EXPECT_EQ(r.output.rfind("ffcuda: error: ", 0), 0u) << arguments << "\n" << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << arguments << "\n" << r.output;
  EXPECT_NE(r.output.find(expected), std::string::npos) << arguments << "\n" << r.output;
  EXPECT_EQ(r.output.find("/nonexistent/ffcuda-data"), std::string::npos) << r.output;
}

TEST(Cli, EveryBadOptionIsRefusedInOneLineBeforeAnyData) {
  const std::string train = "train --device cpu --out /tmp/ffcuda_cli_never ";
  expect_refused_before_data(train + "--train-limit -1", "--train-limit");
  expect_refused_before_data(train + "--eval-every -2", "--eval-every");
  expect_refused_before_data(train + "--threshold nan", "--threshold");
  expect_refused_before_data(train + "--probe --probe-layers 9 --layers 2x20", "--probe-layers");
  expect_refused_before_data(train + "--epochs 1.5", "--epochs");
  expect_refused_before_data(train + "--goodness max", "unknown --goodness 'max'");
  expect_refused_before_data(train + "--no-such-option 3", "--no-such-option");
  expect_refused_before_data("bench --device cpu --lr -1", "--lr");
  expect_refused_before_data("bench --device cpu --eval-images -1", "--eval-images");
  expect_refused_before_data(train + "--seed -1", "--seed");
  expect_refused_before_data("train --device cpu --out /etc/hostname", "--out /etc/hostname is a file");
  expect_refused_before_data("train --device cpu --save /etc/hostname/run.safetensors",
                             "/etc/hostname is a file");
  expect_refused_before_data("frobnicate", "unknown subcommand 'frobnicate'");
  EXPECT_FALSE(std::filesystem::exists("/tmp/ffcuda_cli_never"));
}

TEST(Cli, ARepeatedOptionTakesItsLastValue) {
  // The last --dataset wins: the error is about the other value each time.
  expect_refused_before_data("train --device cpu --dataset mnist --dataset imagenet", "imagenet");
  const CommandResult r = run_ffcuda(
      "train --device cpu --dataset imagenet --dataset mnist --data-dir /nonexistent/ffcuda-data");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("/nonexistent/ffcuda-data"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("imagenet"), std::string::npos) << r.output;
}

TEST(Cli, VersionNamesTheVersionTheCommitAndTheBackends) {
  const CommandResult r = run_ffcuda("--version");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.rfind("ffcuda 0.", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("(commit "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("backends: cpu"), std::string::npos) << r.output;
}

TEST(Cli, ACheckpointWhoseConfigHasAnUnknownNameIsRefusedBeforeAnyData) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "ffcuda_cli_badname";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "run.safetensors").string();
  nlohmann::json config = ff::config_to_json(ff::TrainConfig{});
  config["goodness"] = "max";  // what a newer build might write
  ff::Checkpoint checkpoint;
  checkpoint.tensors.push_back({"layers.0.weight", {1, 1}, {0.0f}});
  checkpoint.metadata["config"] = config.dump();
  checkpoint.metadata["next_epoch"] = "1";
  ff::save_checkpoint(path, checkpoint);
  expect_refused_before_data("probe --device cpu --checkpoint " + path, "unknown --goodness 'max'");
  expect_refused_before_data("train --device cpu --resume " + path, "unknown --goodness 'max'");
  checkpoint.metadata["config"] = ff::config_to_json(ff::TrainConfig{}).dump();
  checkpoint.metadata["schema"] = std::to_string(ff::kSchemaVersion + 1);
  ff::save_checkpoint(path, checkpoint);
  expect_refused_before_data("probe --device cpu --checkpoint " + path,
                             "schema version " + std::to_string(ff::kSchemaVersion + 1));
  std::filesystem::remove_all(dir);
}

TEST(Cli, ADivergedRunStopsWithAClearErrorAndSavesNothing) {
  // lr 1e30: Adam moves every weight by ~1e30 in the first step, so goodness overflows to infinity.
  const std::filesystem::path out = std::filesystem::temp_directory_path() / "ffcuda_cli_diverge";
  std::filesystem::remove_all(out);
  const std::string mnist = ff::testing_util::mnist_dir();
  if (const std::string missing = ff::testing_util::mnist_missing(); !missing.empty()) {
    GTEST_SKIP() << missing;
  }
  const std::string checkpoint = (out / "run.safetensors").string();
  expect_clean_failure("train --device cpu --data-dir " + mnist +
                           " --layers 2x20 --epochs 2 --train-limit 500 --test-limit 100 --lr 1e30"
                           " --save " + checkpoint + " --out " + out.string(),
                       "training diverged; lower --lr");
  // (the message also says that no checkpoint was written: checked in the bad-input table)
  EXPECT_FALSE(std::filesystem::exists(out / "result.json"));
  EXPECT_FALSE(std::filesystem::exists(checkpoint));
  std::filesystem::remove_all(out);
}

TEST(Cli, DevicesListsTheCpu) {
  const CommandResult r = run_ffcuda("devices");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("cpu "), std::string::npos) << r.output;
}

}  // namespace
