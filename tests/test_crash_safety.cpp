// Crash safety of a single `ffcuda train` run: killed with SIGKILL (FF_FAULT, ff/fault.hpp) at
// each named point and at a random step, then resumed from its checkpoint, it ends with the same
// result.json and metrics.jsonl as an uninterrupted run (timing fields aside); a write that fails
// (file-size limit standing in for a full disk) keeps the previous checkpoint intact.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "command_util.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

namespace {

using Outcome = ff::testing_util::CommandOutcome;

Outcome run_ffcuda(const std::string& arguments, const std::string& prefix = "") {
  return ff::testing_util::run_ffcuda_command(arguments, prefix);
}

std::string read_file(const fs::path& path) { return ff::testing_util::read_whole_file(path); }

// A record without what differs between equal runs: wall times and speeds.
nlohmann::json without_timing(nlohmann::json record) {
  for (const char* key : {"elapsed_s", "train_seconds", "epoch_s", "train_samples_per_s"}) {
    record.erase(key);
  }
  return record;
}

std::vector<nlohmann::json> metrics_without_timing(const fs::path& path) {
  std::vector<nlohmann::json> records;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    records.push_back(without_timing(nlohmann::json::parse(line)));
  }
  return records;
}

class CrashSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    mnist_ = ff::testing_util::mnist_dir();
    if (const std::string missing = ff::testing_util::mnist_missing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    // The process id keeps two test runs on one machine (two build trees) out of each other's way.
    root_ = fs::temp_directory_path() /
            ("ffcuda_crash_" + std::to_string(::getpid()) + "_" +
             std::string(testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override {
    std::error_code error;
    fs::remove_all(root_, error);
  }

  // 3 epochs of 5 steps, a checkpoint after each, then slow evaluation and a 3-epoch probe.
  std::string run_args(const std::string& name) const {
    const fs::path dir = root_ / name;
    return "train --device cpu --data-dir " + mnist_ +
           " --task rotation --layers 2x16 --epochs 3 --train-limit 500 --test-limit 200 --probe "
           "--probe-epochs 3 --save-every 1 --save " +
           (dir / "run.safetensors").string() + " --out " + dir.string();
  }

  // Kills a run at `fault`, resumes it, and compares it with an uninterrupted one.
  void expect_resume_matches(const std::string& fault) {
    SCOPED_TRACE("FF_FAULT=" + fault);
    const Outcome straight = run_ffcuda(run_args("straight"));
    ASSERT_TRUE(straight.ok()) << straight.output;
    const Outcome killed = run_ffcuda(run_args("killed"), "FF_FAULT=" + fault);
    ASSERT_TRUE(killed.killed()) << "status " << killed.status << "\n" << killed.output;
    EXPECT_FALSE(fs::exists(root_ / "killed" / "result.json"));
    const std::string checkpoint = (root_ / "killed" / "run.safetensors").string();
    const Outcome resumed = run_ffcuda(run_args("killed") + " --resume " + checkpoint);
    ASSERT_TRUE(resumed.ok()) << resumed.output;
    EXPECT_EQ(without_timing(nlohmann::json::parse(read_file(root_ / "killed" / "result.json"))),
              without_timing(nlohmann::json::parse(read_file(root_ / "straight" / "result.json"))));
    EXPECT_EQ(metrics_without_timing(root_ / "killed" / "metrics.jsonl"),
              metrics_without_timing(root_ / "straight" / "metrics.jsonl"));
    EXPECT_EQ(read_file(checkpoint), read_file(root_ / "straight" / "run.safetensors"));
    EXPECT_FALSE(fs::exists(checkpoint + ".tmp"));
  }

  std::string mnist_;
  fs::path root_;
};

// Step 7 is in epoch 2; the 2nd metrics line has no checkpoint yet; the 2nd checkpoint write is
// cut before its rename; the final evaluation and the probe's 2nd epoch are interrupted.
TEST_F(CrashSafety, MidEpoch) { expect_resume_matches("step:7"); }
TEST_F(CrashSafety, BetweenMetricsLineAndCheckpoint) { expect_resume_matches("after-metrics:2"); }
TEST_F(CrashSafety, DuringCheckpointWrite) { expect_resume_matches("checkpoint-write:2"); }
TEST_F(CrashSafety, DuringEvaluation) { expect_resume_matches("evaluation:1"); }
TEST_F(CrashSafety, DuringProbe) { expect_resume_matches("probe:2"); }

TEST_F(CrashSafety, AtARandomStep) {
  // Steps 6..15 (epochs 2 and 3: a checkpoint exists to resume from); the seed is printed so
  // that a failure can be replayed with the same point.
  const unsigned seed = std::random_device{}();
  std::mt19937 draw(seed);
  const int step = 6 + static_cast<int>(draw() % 10);
  std::printf("random kill point: step:%d (seed %u)\n", step, seed);
  expect_resume_matches("step:" + std::to_string(step));
}

TEST_F(CrashSafety, AFailedCheckpointWriteKeepsThePreviousOne) {
  const std::string args = run_args("full");
  const std::string checkpoint = (root_ / "full" / "run.safetensors").string();
  ASSERT_TRUE(run_ffcuda(args).ok());
  const std::string before = read_file(checkpoint);
  ASSERT_GT(before.size(), 60u * 1024);
  // 50 KiB: metrics.jsonl and result.json fit, a new checkpoint does not (a full disk's EFBIG).
  const Outcome full = run_ffcuda(args + " --epochs 4 --resume " + checkpoint, "ulimit -f 50;");
  EXPECT_TRUE(WIFEXITED(full.status) && WEXITSTATUS(full.status) == 1) << full.output;
  const std::string last_line = full.output.substr(full.output.rfind("ffcuda: error: "));
  EXPECT_NE(last_line.find("writing the checkpoint failed"), std::string::npos) << full.output;
  EXPECT_NE(last_line.find("check the free disk space"), std::string::npos) << full.output;
  EXPECT_EQ(std::count(last_line.begin(), last_line.end(), '\n'), 1) << full.output;
  EXPECT_EQ(read_file(checkpoint), before);
  EXPECT_FALSE(fs::exists(checkpoint + ".tmp"));
}

// --out on a full disk (a 2 KiB file-size limit: the metrics lines fit, the final record and
// result.json do not): one error line that says so, and no half-written result or temporary file.
TEST_F(CrashSafety, AFullDiskLeavesNoHalfWrittenResult) {
  const std::string args = "train --device cpu --data-dir " + mnist_ +
                           " --task supervised --layers 2x16 --epochs 2 --train-limit 500 "
                           "--test-limit 200 --fast-epochs 1 --out " +
                           (root_ / "full").string();
  const Outcome full = run_ffcuda(args, "ulimit -f 2;");
  ASSERT_TRUE(WIFEXITED(full.status) && WEXITSTATUS(full.status) == 1) << full.output;
  const std::string last_line = full.output.substr(full.output.rfind("ffcuda: error: "));
  EXPECT_EQ(std::count(last_line.begin(), last_line.end(), '\n'), 1) << full.output;
  EXPECT_NE(last_line.find("disk"), std::string::npos) << full.output;
  EXPECT_FALSE(fs::exists(root_ / "full" / "result.json"));
  for (const auto& entry : fs::directory_iterator(root_ / "full")) {
    EXPECT_EQ(entry.path().string().find(".tmp"), std::string::npos) << entry.path();
  }
}

}  // namespace
