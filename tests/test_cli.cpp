// The ffcuda command on bad input: one clear line on stderr, exit status 1, nothing written; and
// the exit status 2 of an internal error.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <system_error>

#include "ff/checkpoint.hpp"
#include "ff/config.hpp"
#include "ff/error.hpp"
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
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << arguments << "\n" << r.output;
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
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 1) << arguments << "\n" << r.output;
  EXPECT_EQ(r.output.rfind("ffcuda: error: ", 0), 0u) << arguments << "\n" << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << arguments << "\n" << r.output;
  EXPECT_NE(r.output.find(expected), std::string::npos) << arguments << "\n" << r.output;
  EXPECT_EQ(r.output.find("/nonexistent/ffcuda-data"), std::string::npos) << r.output;
}

// No input reaches an internal error (each would be a bug), so the mapping main() applies to what
// escapes the command, ff::error_report, is checked on the exceptions themselves.
TEST(Cli, AnInternalErrorIsNotTheUsersAndExitsWithStatusTwo) {
  try {
    ff::check_invariant(false, "the sizes disagree");
    ADD_FAILURE() << "check_invariant(false) did not throw";
  } catch (const ff::Error& e) {
    ADD_FAILURE() << "an internal error caught as the user's: " << e.what();
  } catch (const ff::InternalError& e) {
    const ff::ErrorReport report = ff::error_report(e);
    EXPECT_EQ(report.exit_status, 2);
    EXPECT_EQ(report.line.rfind("ffcuda: internal error: the sizes disagree", 0), 0u)
        << report.line;
    EXPECT_NE(report.line.find("please report it"), std::string::npos) << report.line;
  }
  // An invariant the engine checks: every enum value it holds has a name.
  EXPECT_THROW(ff::enum_name(static_cast<ff::Algo>(99)), ff::InternalError);

  const ff::ErrorReport other = ff::error_report(std::out_of_range("vector::_M_range_check"));
  EXPECT_EQ(other.exit_status, 2);
  EXPECT_EQ(other.line, "ffcuda: internal error: vector::_M_range_check");
}

TEST(Cli, UserErrorsExitWithStatusOne) {
  const ff::ErrorReport user = ff::error_report(ff::Error("--batch must be positive"));
  EXPECT_EQ(user.exit_status, 1);
  EXPECT_EQ(user.line, "ffcuda: error: --batch must be positive");
  EXPECT_EQ(ff::error_report(ff::CudaError("cudaMallocAsync failed")).exit_status, 1);
  const ff::ErrorReport path = ff::error_report(std::filesystem::filesystem_error(
      "cannot create directory", "/root/out", std::make_error_code(std::errc::permission_denied)));
  EXPECT_EQ(path.exit_status, 1);
  EXPECT_NE(path.line.find("check the path and its permissions"), std::string::npos) << path.line;
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
  expect_refused_before_data("train --device cpu --out /etc/hostname",
                             "--out /etc/hostname is a file");
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
                           " --save " +
                           checkpoint + " --out " + out.string(),
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
