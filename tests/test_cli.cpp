// The ffcuda command on bad input: one clear line on stderr, non-zero exit, nothing written.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
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

TEST(Cli, ADivergedRunStopsWithAClearErrorAndSavesNothing) {
  // lr 1e30: Adam moves every weight by ~1e30 in the first step, so goodness overflows to infinity.
  const std::filesystem::path out = std::filesystem::temp_directory_path() / "ffcuda_cli_diverge";
  std::filesystem::remove_all(out);
  const std::string mnist = ff::testing_util::mnist_dir();
  if (!std::filesystem::exists(mnist + "/train-images-idx3-ubyte")) {
    GTEST_SKIP() << "MNIST not found in " << mnist << ": run tools/setup.sh";
  }
  const std::string checkpoint = (out / "run.safetensors").string();
  expect_clean_failure("train --device cpu --data-dir " + mnist +
                           " --layers 2x20 --epochs 2 --train-limit 500 --test-limit 100 --lr 1e30"
                           " --save " + checkpoint + " --out " + out.string(),
                       "training diverged; lower --lr");
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
