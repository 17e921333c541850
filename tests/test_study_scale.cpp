// A study split between machines and devices: --shard I/N (into one folder or several, merged by
// --report DIR1 DIR2), --jobs K and --gpus LIST (child processes), each giving the results.csv of
// the whole study run in one process; a child that dies is a failed cell, not a hung study; a
// study stopped or killed leaves no child running.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "command_util.hpp"
#include "ff/devices.hpp"
#include "ff/error.hpp"
#include "ff/study.hpp"
#include "test_paths.hpp"
#include "train/study_share.hpp"

namespace fs = std::filesystem;

namespace {

using Outcome = ff::testing_util::CommandOutcome;
using ff::testing_util::read_whole_file;

Outcome run_ffcuda(const std::string& arguments, const std::string& prefix = "") {
  return ff::testing_util::run_ffcuda_command(arguments, prefix);
}

// Named after this process too: another checkout's tests on the same machine use the same names.
fs::path fresh_dir(const std::string& name) {
  const fs::path dir =
      fs::temp_directory_path() / ("ffcuda_scale_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

nlohmann::json read_json(const fs::path& path) {
  return nlohmann::json::parse(read_whole_file(path));
}

// The cells of the tiny study, in grid order.
const std::vector<std::string> kCells = {"mnist-supervised-ff-s0", "mnist-supervised-bp-ce-s0",
                                         "mnist-rotation-ff-s0", "mnist-rotation-bp-ce-s0"};

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const ff::Error& e) {
    return e.what();
  }
  return "<accepted>";
}

// ---- how cells are shared out -------------------------------------------------------------------

TEST(StudyShare, ShardIOfNHoldsTheGridPositionsIModuloNAndRefusesAnythingElse) {
  EXPECT_TRUE(ff::study::parse_shard("").whole());
  for (int count = 1; count <= 4; ++count) {
    for (size_t position = 0; position < 12; ++position) {
      int holders = 0;
      for (int index = 1; index <= count; ++index) {
        const auto shard =
            ff::study::parse_shard(std::to_string(index) + "/" + std::to_string(count));
        if (shard.holds(position)) {
          ++holders;
          EXPECT_EQ(static_cast<int>(position % count) + 1, index);
        }
      }
      EXPECT_EQ(holders, 1) << position << " of " << count;  // every cell in exactly one shard
    }
  }
  for (const char* bad :
       {"3/2", "0/2", "x", "1/0", "1/", "/2", "1/2/3", "-1/2", " 1/2", "1/2x", "+1/2", "1.0/2"}) {
    const std::string error = error_of([&] { ff::study::parse_shard(bad); });
    EXPECT_NE(error.find(std::string("--shard '") + bad + "': write I/N"), std::string::npos)
        << bad << ": " << error;
  }
}

TEST(StudyShare, GpusAndJobsGiveTheSlotsOfTheChildProcesses) {
  EXPECT_EQ(ff::study::parse_gpus("0,1,3"), (std::vector<std::string>{"0", "1", "3"}));
  for (const char* bad : {"a", "0,0", "", "0,", "-1", "1 ,2", "GPU-1"}) {
    EXPECT_NE(error_of([&] { ff::study::parse_gpus(bad); }).find("--gpus '"), std::string::npos)
        << bad;
  }
  ff::StudyRequest request;
  EXPECT_FALSE(ff::study::plan_slots(request, "auto").children);  // one at a time, in-process
  request.jobs = 3;
  auto slots = ff::study::plan_slots(request, "cpu");
  EXPECT_TRUE(slots.children);
  EXPECT_EQ(slots.count, 3);
  EXPECT_TRUE(slots.devices.empty());
  EXPECT_EQ(slots.threads_per_child, std::max(1, ff::study::thread_budget() / 3));
  request.jobs = 1;
  request.gpus = "2,0";
  slots = ff::study::plan_slots(request, "auto");
  EXPECT_EQ(slots.devices, (std::vector<std::string>{"2", "0"}));
  EXPECT_EQ(slots.count, 2);
  EXPECT_NE(
      error_of([&] { ff::study::plan_slots(request, "cpu"); }).find("--gpus with --device cpu"),
      std::string::npos);
  request.jobs = 2;
  EXPECT_NE(error_of([&] { ff::study::plan_slots(request, "cuda"); }).find("--jobs and --gpus"),
            std::string::npos);
  request.gpus = "";
  request.jobs = 0;
  EXPECT_NE(error_of([&] { ff::study::plan_slots(request, "cpu"); }).find("--jobs 0"),
            std::string::npos);
}

// ---- end to end --------------------------------------------------------------------------------

class StudyScale : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string missing = ff::testing_util::mnist_missing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
  }

  // 4 cells of 1 epoch of 3 steps; `device` cpu unless said.
  static std::string tiny_study(const fs::path& out, const std::string& device = "cpu") {
    return "study --datasets mnist --tasks supervised,rotation --algos ff,bp-ce --layers 2x16 "
           "--epochs 1 --train-limit 300 --test-limit 100 --probe-epochs 1 --fast-epochs 1 "
           "--save-interval 0 --device " +
           device + " --data-root " +
           fs::path(ff::testing_util::mnist_dir()).parent_path().string() + " --out " +
           out.string();
  }

  static std::set<std::string> cell_folders(const fs::path& study) {
    std::set<std::string> names;
    for (const auto& entry : fs::directory_iterator(study / "cells")) {
      names.insert(entry.path().filename());
    }
    return names;
  }
};

TEST_F(StudyScale, ShardsInTwoFoldersMergedOrInOneFolderGiveTheWholeStudysResults) {
  const fs::path root = fresh_dir("shards");
  const Outcome whole = run_ffcuda(tiny_study(root / "whole"));
  ASSERT_TRUE(whole.ok()) << whole.output;
  const std::string expected = read_whole_file(root / "whole" / "results.csv");

  // Two folders: each shard trains only its cells, records the whole grid, and reports the other
  // shard's cells as pending.
  for (const char* shard : {"1/2", "2/2"}) {
    const std::string folder = shard[0] == '1' ? "a" : "b";
    const Outcome part = run_ffcuda(tiny_study(root / folder) + " --shard " + shard);
    ASSERT_TRUE(part.ok()) << part.output;
    EXPECT_NE(part.output.find(std::string("shard ") + shard + ": 2 of the 4 cells"),
              std::string::npos)
        << part.output;
  }
  EXPECT_EQ(cell_folders(root / "a"), (std::set<std::string>{kCells[0], kCells[2]}));
  EXPECT_EQ(cell_folders(root / "b"), (std::set<std::string>{kCells[1], kCells[3]}));
  EXPECT_EQ(read_json(root / "a" / "study.json").at("cells").size(), 4u);
  EXPECT_NE(read_whole_file(root / "a" / "results.csv").find(",pending\n"), std::string::npos);

  const Outcome merged = run_ffcuda("study --report " + (root / "a").string() + " " +
                                    (root / "b").string() + " --out " + (root / "m").string());
  ASSERT_TRUE(merged.ok()) << merged.output;
  EXPECT_EQ(read_whole_file(root / "m" / "results.csv"), expected);
  // Without --out the report goes to the first folder named.
  ASSERT_TRUE(
      run_ffcuda("study --report " + (root / "b").string() + " " + (root / "a").string()).ok());
  EXPECT_EQ(read_whole_file(root / "b" / "results.csv"), expected);
  // A cell finished in two folders: the first folder's figures, and a note.
  ASSERT_TRUE(run_ffcuda("study --report " + (root / "whole").string() + " " +
                         (root / "a").string() + " --out " + (root / "m2").string())
                  .ok());
  EXPECT_EQ(read_whole_file(root / "m2" / "results.csv"), expected);
  EXPECT_NE(read_whole_file(root / "m2" / "report.md")
                .find(kCells[0] + " finished in " + (root / "whole").string() + ", " +
                      (root / "a").string() + ": the figures of " + (root / "whole").string()),
            std::string::npos);

  // Folders of different studies are not merged, and nothing is written.
  fs::create_directories(root / "other");
  nlohmann::json other = read_json(root / "a" / "study.json");
  other["settings"]["config"]["lr"] = 0.01;
  std::ofstream(root / "other" / "study.json") << other.dump();
  const Outcome refused =
      run_ffcuda("study --report " + (root / "a").string() + " " + (root / "other").string() +
                 " --out " + (root / "m3").string());
  EXPECT_EQ(WEXITSTATUS(refused.status), 1);
  EXPECT_EQ(refused.output.rfind("ffcuda: error: ", 0), 0u) << refused.output;
  EXPECT_NE(refused.output.find("hold different studies (config.lr:"), std::string::npos)
      << refused.output;
  EXPECT_EQ(std::count(refused.output.begin(), refused.output.end(), '\n'), 1) << refused.output;
  EXPECT_FALSE(fs::exists(root / "m3"));

  // One folder, both shards at once: one study.json, every cell trained once, and the report of
  // the shard that ends last is the whole study's.
  auto first = std::async(std::launch::async,
                          [&] { return run_ffcuda(tiny_study(root / "one") + " --shard 1/2"); });
  const Outcome second = run_ffcuda(tiny_study(root / "one") + " --shard 2/2");
  const Outcome first_done = first.get();
  ASSERT_TRUE(first_done.ok()) << first_done.output;
  ASSERT_TRUE(second.ok()) << second.output;
  EXPECT_EQ(read_whole_file(root / "one" / "results.csv"), expected);
  for (const std::string& cell : kCells) {
    const std::string metrics = read_whole_file(root / "one" / "cells" / cell / "metrics.jsonl");
    EXPECT_EQ(std::count(metrics.begin(), metrics.end(), '\n'), 2) << cell;  // epoch 1, final
  }
  fs::remove_all(root);
}

// The CPU backend's last bits depend on its number of threads, so both studies give each cell one:
// the one-at-a-time study is given 1 thread, the two-at-a-time study 2 to share.
TEST_F(StudyScale, JobsTwoGivesTheResultsOfJobsOne) {
  const fs::path root = fresh_dir("jobs");
  const Outcome one = run_ffcuda(tiny_study(root / "one") + " --jobs 1", "OMP_NUM_THREADS=1");
  ASSERT_TRUE(one.ok()) << one.output;
  const Outcome two = run_ffcuda(tiny_study(root / "two") + " --jobs 2", "OMP_NUM_THREADS=2");
  ASSERT_TRUE(two.ok()) << two.output;
  EXPECT_NE(two.output.find("2 cells at a time (1 thread each)"), std::string::npos) << two.output;
  EXPECT_EQ(read_whole_file(root / "two" / "results.csv"),
            read_whole_file(root / "one" / "results.csv"));
  for (const std::string& cell : kCells) {
    // Each child wrote its own lines to its cell's log and ran with its share of the threads.
    EXPECT_NE(read_whole_file(root / "two" / "cells" / cell / "log.txt").find("wrote "),
              std::string::npos)
        << cell;
    EXPECT_EQ(
        read_json(root / "two" / "cells" / cell / "result.json")["environment"]["omp_num_threads"],
        "1")
        << cell;
    EXPECT_FALSE(fs::exists(root / "one" / "cells" / cell / "log.txt")) << cell;
  }
  fs::remove_all(root);
}

TEST_F(StudyScale, GpusGiveEachChildItsDeviceAndWithoutAGpuEachFallsBackToTheCpu) {
  const fs::path root = fresh_dir("gpus");
  const Outcome outcome = run_ffcuda(tiny_study(root / "g", "auto") + " --gpus 0,1");
  ASSERT_TRUE(outcome.ok()) << outcome.output;
  std::set<std::string> seen;
  std::vector<std::string> order;
  for (const std::string& cell : kCells) {
    const nlohmann::json result = read_json(root / "g" / "cells" / cell / "result.json");
    const nlohmann::json& visible = result["environment"]["cuda_visible_devices"];
    ASSERT_TRUE(visible.is_string()) << cell << ": " << result["environment"];
    seen.insert(visible.get<std::string>());
    order.push_back(visible.get<std::string>());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"0", "1"}));
  EXPECT_EQ(order[0], "0");  // the first two cells start together, one on each GPU
  EXPECT_EQ(order[1], "1");
  std::string why;
  if (!ff::list_cuda_devices(&why).empty()) return;  // with GPUs, the children used them
  for (const std::string& cell : kCells) {
    const std::string log = read_whole_file(root / "g" / "cells" / cell / "log.txt");
    size_t lines = 0;
    for (size_t at = log.find("no usable CUDA device"); at != std::string::npos;
         at = log.find("no usable CUDA device", at + 1)) {
      ++lines;
      EXPECT_NE(log.find("running on the CPU", at), std::string::npos) << log;
    }
    EXPECT_EQ(lines, 1u) << cell << ":\n" << log;
    EXPECT_EQ(
        read_json(root / "g" / "cells" / cell / "result.json")["device"].get<std::string>().rfind(
            "cpu", 0),
        0u);
  }
  fs::remove_all(root);
}

TEST_F(StudyScale, AChildThatDiesIsAFailedCellAndARerunCompletesTheStudy) {
  const fs::path root = fresh_dir("child_dies");
  // Every child kills itself (SIGKILL) at its second training step.
  const Outcome killed = run_ffcuda(tiny_study(root / "s") + " --jobs 2", "FF_FAULT=step:2");
  EXPECT_TRUE(WIFEXITED(killed.status) && WEXITSTATUS(killed.status) == 1) << killed.output;
  EXPECT_NE(killed.output.find("4 cells: 0 finished (0 of them earlier), 0 no data, 4 failed"),
            std::string::npos)
      << killed.output;
  EXPECT_NE(killed.output.find("ffcuda: error: 4 study cells failed"), std::string::npos);
  for (const std::string& cell : kCells) {
    const nlohmann::json error = read_json(root / "s" / "cells" / cell / "error.json");
    EXPECT_EQ(error["status"], "failed") << cell;
    EXPECT_NE(error["error"].get<std::string>().find("killed by signal 9"), std::string::npos)
        << error;
  }
  const Outcome rerun = run_ffcuda(tiny_study(root / "s") + " --jobs 2");
  ASSERT_TRUE(rerun.ok()) << rerun.output;
  EXPECT_NE(rerun.output.find("4 cells: 4 finished (0 of them earlier), 0 no data, 0 failed"),
            std::string::npos)
      << rerun.output;
  fs::remove_all(root);
}

// The processes whose command line names `dir` (the study's children carry it in --run-cell).
std::vector<pid_t> processes_naming(const std::string& dir) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::string cmdline = read_whole_file(entry.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find("--run-cell") != std::string::npos && cmdline.find(dir) != std::string::npos) {
      found.push_back(std::stoi(name));
    }
  }
  return found;
}

// Starts ffcuda with `arguments` (split at spaces), its output in `log`; returns its pid.
pid_t start_ffcuda(const std::string& arguments, const fs::path& log) {
  std::vector<std::string> words = {ff::testing_util::ffcuda_binary()};
  std::istringstream in(arguments);
  for (std::string word; in >> word;) words.push_back(word);
  std::vector<char*> argv;
  for (std::string& word : words) argv.push_back(word.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, STDOUT_FILENO);
    ::dup2(fd, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// A study stopped by SIGTERM (Ctrl-C alike) stops its children first; one killed outright takes
// them with it. Either way no cell is left training, and nothing is recorded as failed.
TEST_F(StudyScale, AStoppedOrKilledStudyLeavesNoChildRunning) {
  const fs::path root = fresh_dir("stopped");
  // Cells far too long to end on their own during the test (minutes each).
  const std::string study =
      "study --datasets mnist --tasks supervised,rotation --algos ff,bp-ce --layers 2x64 "
      "--epochs 5000 --train-limit 2000 --test-limit 100 --probe-epochs 1 --fast-epochs 1 "
      "--save-interval 0 --device cpu --jobs 2 --data-root " +
      fs::path(ff::testing_util::mnist_dir()).parent_path().string() + " --out ";
  for (const int signal : {SIGTERM, SIGKILL}) {
    const fs::path out = root / (signal == SIGTERM ? "term" : "kill");
    const pid_t pid = start_ffcuda(study + out.string(), root / "log.txt");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (processes_naming(out.string()).size() < 2 &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(processes_naming(out.string()).size(), 2u) << read_whole_file(root / "log.txt");
    ::kill(pid, signal);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == signal) << status;
    // The children end with it (at once for SIGTERM; as soon as the kernel tells them for SIGKILL).
    const auto gone_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!processes_naming(out.string()).empty() && std::chrono::steady_clock::now() < gone_by) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(processes_naming(out.string()).empty()) << "children left running";
    if (signal == SIGTERM) {
      EXPECT_NE(read_whole_file(root / "log.txt").find("study: stopping 2 running cells"),
                std::string::npos)
          << read_whole_file(root / "log.txt");
    }
    for (const std::string& cell : kCells) {
      EXPECT_FALSE(fs::exists(out / "cells" / cell / "error.json")) << cell;
    }
  }
  fs::remove_all(root);
}

}  // namespace
