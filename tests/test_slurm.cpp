// tools/slurm_study.sh: the two batch scripts it writes, checked and then run by hand the way
// Slurm runs them; and a real single-node Slurm started here (tests/local_slurm.hpp): a tiny study
// submitted as a 2-task job array and a dependent report job gives the results.csv of the same
// study run whole.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <future>
#include <regex>
#include <string>

#include "command_util.hpp"
#include "local_slurm.hpp"
#include "test_paths.hpp"

namespace fs = std::filesystem;

namespace {

using ff::testing_util::LocalSlurm;
using ff::testing_util::read_whole_file;

// Named after this process too: another checkout's tests on the same machine use the same names.
fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("ffcuda_slurm_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string script() { return ff::testing_util::source_dir() + "/tools/slurm_study.sh"; }

// The study's own options: 2 cells (supervised FF and bp-ce) of 1 epoch of 3 steps.
std::string tiny_study(const fs::path& out) {
  return "--datasets mnist --tasks supervised --algos ff,bp-ce --layers 2x16 --epochs 1 "
         "--train-limit 300 --test-limit 100 --probe-epochs 1 --fast-epochs 1 --device cpu "
         "--save-interval 0 --data-root " +
         fs::path(ff::testing_util::mnist_dir()).parent_path().string() + " --out " + out.string();
}

ff::testing_util::CommandOutcome shell(const std::string& command) {
  return LocalSlurm::run_shell(command);
}

// The whole study in one process: the results every split must give. With the one thread each
// array task has (--cpus-per-cell 1): the CPU backend's last bits depend on the thread count.
std::string whole_study_results(const fs::path& out) {
  const auto whole =
      ff::testing_util::run_ffcuda_command("study " + tiny_study(out), "OMP_NUM_THREADS=1");
  EXPECT_TRUE(whole.ok()) << whole.output;
  return read_whole_file(out / "results.csv");
}

TEST(SlurmScript, WritesAShardArrayAndAReportJobThatRunAsSlurmRunsThem) {
  if (const std::string missing = ff::testing_util::mnist_missing(); !missing.empty()) {
    GTEST_SKIP() << missing;
  }
  const fs::path root = fresh_dir("script");
  const std::string binary = ff::testing_util::ffcuda_binary();
  const auto written = shell(script() +
                             " --shards 2 --cpus-per-cell 1 --time 0:30:00 "
                             "--sbatch-arg --account=lab --ffcuda " +
                             binary + " -- " + tiny_study(root / "s"));
  ASSERT_TRUE(written.ok()) << written.output;
  EXPECT_NE(written.output.find("submit them with:"), std::string::npos) << written.output;
  const std::string shards = read_whole_file(root / "s" / "slurm" / "shards.sbatch");
  for (const char* line :
       {"#SBATCH --array=1-2\n", "#SBATCH --cpus-per-task=1\n", "#SBATCH --time=0:30:00\n",
        "#SBATCH --account=lab\n", " --shard \"$SLURM_ARRAY_TASK_ID/2\"\n",
        "OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}"}) {
    EXPECT_NE(shards.find(line), std::string::npos) << line << " not in\n" << shards;
  }
  EXPECT_EQ(shards.find("--gres"), std::string::npos) << "--device cpu asks for no GPU";
  const std::string report = read_whole_file(root / "s" / "slurm" / "report.sbatch");
  EXPECT_NE(report.find(" study --report " + (root / "s").string() + "\n"), std::string::npos)
      << report;

  // Run as Slurm would: each array task with its number, then the report job.
  for (const char* task : {"1", "2"}) {
    const auto ran =
        shell(std::string("SLURM_ARRAY_TASK_ID=") + task + " SLURM_CPUS_PER_TASK=1 bash " +
              (root / "s/slurm/shards.sbatch").string());
    ASSERT_TRUE(ran.ok()) << ran.output;
    EXPECT_NE(ran.output.find(std::string("shard ") + task + "/2: 1 of the 2 cells"),
              std::string::npos)
        << ran.output;
  }
  const auto reported = shell("bash " + (root / "s/slurm/report.sbatch").string());
  ASSERT_TRUE(reported.ok()) << reported.output;
  EXPECT_EQ(read_whole_file(root / "s" / "results.csv"), whole_study_results(root / "whole"));

  // A CUDA study asks for a GPU per task unless told otherwise.
  const auto gpu =
      shell(script() + " --shards 3 --partition gpu --scripts " + (root / "gpu").string() +
            " --ffcuda " + binary + " -- --device cuda --out " + (root / "g").string());
  ASSERT_TRUE(gpu.ok()) << gpu.output;
  const std::string gpu_shards = read_whole_file(root / "gpu" / "shards.sbatch");
  for (const char* line : {"#SBATCH --gres=gpu:1\n", "#SBATCH --partition=gpu\n",
                           "#SBATCH --array=1-3\n", "#SBATCH --cpus-per-task=2\n"}) {
    EXPECT_NE(gpu_shards.find(line), std::string::npos) << line << " not in\n" << gpu_shards;
  }

  // Mistakes: one line, a non-zero exit.
  const std::pair<std::string, std::string> mistakes[] = {
      {"--shards 2 -- --datasets mnist", "need --out DIR"},
      {"--shards 0 -- --out x", "--shards N"},
      {"--shards two -- --out x", "--shards N"},
      {"--shards 2 -- --out x --shard 1/2", "must not hold --shard"},
      {"--shards 2 --cpus 3 -- --out x", "unknown option '--cpus'"},
      {"--shards 2 --ffcuda /nonexistent -- --out x", "no ffcuda binary"}};
  for (const auto& [arguments, expected] : mistakes) {
    const auto refused = shell("cd " + root.string() + " && " + script() + " " + arguments);
    EXPECT_FALSE(refused.ok()) << arguments;
    EXPECT_EQ(refused.output.rfind("slurm_study: error: ", 0), 0u)
        << arguments << ": " << refused.output;
    EXPECT_NE(refused.output.find(expected), std::string::npos)
        << arguments << ": " << refused.output;
  }
  EXPECT_FALSE(fs::exists(root / "x"));
  fs::remove_all(root);
}

TEST(Slurm, ATinyStudyAsATwoTaskArrayAndItsReportJobGiveTheWholeStudysResults) {
  const std::string unavailable = LocalSlurm::why_unavailable();
  if (!unavailable.empty()) GTEST_SKIP() << unavailable;
  if (const std::string missing = ff::testing_util::mnist_missing(); !missing.empty()) {
    GTEST_SKIP() << missing;
  }
  const auto start = std::chrono::steady_clock::now();
  const fs::path root = fresh_dir("cluster");
  std::string whole, slurm_logs, job_logs;
  {
    LocalSlurm slurm(root / "slurm");
    ASSERT_TRUE(slurm.wait_until_ready(30)) << "the node never became idle\n" << slurm.logs();
    const auto submitted =
        shell(slurm.client() + script() +
              " --shards 2 --cpus-per-cell 1 "
              "--submit --ffcuda " +
              ff::testing_util::ffcuda_binary() + " -- " + tiny_study(root / "s"));
    ASSERT_TRUE(submitted.ok()) << submitted.output << slurm.logs();
    std::smatch ids;
    ASSERT_TRUE(std::regex_search(submitted.output, ids,
                                  std::regex("array job ([0-9]+) .*report job ([0-9]+)")))
        << submitted.output;
    const std::string report_job = ids[2];
    // Meanwhile, the same study whole, in one process.
    whole = whole_study_results(root / "whole");
    std::string state;
    const bool ended = LocalSlurm::wait_for(
        [&] {
          state = slurm.job_state(report_job);
          return state != "" && state != "PENDING" && state != "RUNNING" &&
                 state != "CONFIGURING" && state != "COMPLETING";
        },
        90);
    for (const auto& entry : fs::directory_iterator(root / "s" / "slurm")) {
      if (entry.path().extension() == ".log") {
        job_logs += "---- " + entry.path().string() + "\n" +
                    LocalSlurm::tail(read_whole_file(entry.path()), 2000);
      }
    }
    ASSERT_TRUE(ended && state == "COMPLETED")
        << "report job " << report_job << ": " << state << "\n"
        << job_logs << slurm.logs();
    slurm_logs = job_logs;
  }  // the daemons stop here
  EXPECT_EQ(read_whole_file(root / "s" / "results.csv"), whole) << slurm_logs;
  EXPECT_NE(slurm_logs.find("shard 1/2: 1 of the 2 cells"), std::string::npos) << slurm_logs;
  EXPECT_NE(slurm_logs.find("shard 2/2: 1 of the 2 cells"), std::string::npos) << slurm_logs;
  EXPECT_NE(slurm_logs.find("report: " + (root / "s").string()), std::string::npos) << slurm_logs;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "local Slurm: daemons started, study submitted, report written, daemons stopped in "
      "%.1f s\n",
      seconds);
  RecordProperty("wall_seconds", std::to_string(seconds));
  fs::remove_all(root);
}

}  // namespace
