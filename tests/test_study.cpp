// `ffcuda study`: the grid a request names, the report's arithmetic and published figures, and the
// whole command end to end at a tiny size: interrupted by kill -9 at each crash point and rerun, it
// gives the same results.csv as an uninterrupted study without recomputing finished cells; a
// colour study on synthetic files in the exact CIFAR-10 and SVHN formats; absent data; a rerun
// with other settings refused; a second study in the same folder never trains a cell another
// process holds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "command_util.hpp"
#include "dataset_fixtures.hpp"
#include "ff/config.hpp"
#include "ff/error.hpp"
#include "ff/study.hpp"
#include "test_paths.hpp"
#include "train/study_grid.hpp"
#include "train/study_report.hpp"

namespace fs = std::filesystem;

namespace {

using ff::StudyRequest;

using Outcome = ff::testing_util::CommandOutcome;
using ff::testing_util::read_whole_file;

Outcome run_ffcuda(const std::string& arguments, const std::string& fault = "") {
  return ff::testing_util::run_ffcuda_command(arguments, fault.empty() ? "" : "FF_FAULT=" + fault);
}

std::string read_file(const fs::path& path) { return read_whole_file(path); }

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("ffcuda_study_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<std::string> cell_names(const std::vector<ff::study::Cell>& cells) {
  std::vector<std::string> names;
  for (const auto& cell : cells) names.push_back(cell.name);
  return names;
}

void expect_refused(const StudyRequest& request, const std::string& part) {
  std::string message = "<accepted>";
  try {
    const auto grid = ff::study::make_grid(request);
    ff::study::expand_grid(grid, ff::study::base_config(request), request);
  } catch (const ff::Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find(part), std::string::npos) << "expected: " << part << "\ngot: " << message;
}

// ---- the grid ----------------------------------------------------------------------------------

TEST(StudyGrid, DefaultGridIsTheStudys) {
  StudyRequest request;
  request.datasets = {"mnist"};
  request.out_dir = "/tmp/study";
  const auto cells = ff::study::expand_grid(ff::study::make_grid(request),
                                            ff::study::base_config(request), request);
  // 5 labelled tasks x (ff, bp-ce), the goodness variants on supervised and rotation, and
  // unsupervised FF: 15 cells.
  const std::vector<std::string> expected = {"mnist-supervised-ff-s0",
                                             "mnist-supervised-bp-ce-s0",
                                             "mnist-supervised-bp-goodness-last-s0",
                                             "mnist-supervised-bp-goodness-all-s0",
                                             "mnist-rotation-ff-s0",
                                             "mnist-rotation-bp-ce-s0",
                                             "mnist-rotation-bp-goodness-last-s0",
                                             "mnist-rotation-bp-goodness-all-s0",
                                             "mnist-flip-h-ff-s0",
                                             "mnist-flip-h-bp-ce-s0",
                                             "mnist-flip-hv-ff-s0",
                                             "mnist-flip-hv-bp-ce-s0",
                                             "mnist-jigsaw-ff-s0",
                                             "mnist-jigsaw-bp-ce-s0",
                                             "mnist-unsupervised-ff-s0"};
  EXPECT_EQ(cell_names(cells), expected);
  for (const auto& cell : cells) {
    EXPECT_EQ(cell.config.data_dir, "data/mnist");
    EXPECT_EQ(cell.config.out_dir, "/tmp/study/cells/" + cell.name);
    EXPECT_EQ(cell.config.save_path, cell.config.out_dir + "/checkpoint.safetensors");
    EXPECT_EQ(cell.config.save_every, 1);
    EXPECT_EQ(cell.config.layers_spec, "4x500");  // the quick preset
    EXPECT_EQ(cell.config.probe, cell.task != "supervised" || cell.algo == "bp-ce") << cell.name;
  }
}

TEST(StudyGrid, GivenAlgosOverridesAndSweepAndSeeds) {
  StudyRequest request;
  request.preset = "paper";
  request.datasets = {"fashion-mnist"};
  request.tasks = {"jigsaw", "unsupervised"};
  request.algos = {"ff", "bp-goodness-all"};  // given: the goodness variant runs on jigsaw too
  request.seeds = 2;
  request.sweep = "lr=1e-3,1e-4";
  request.overrides = {{"epochs", "3"}, {"reuse_layer1", "false"}, {"layers", "2x64"}};
  request.out_dir = "out";
  const auto cells = ff::study::expand_grid(ff::study::make_grid(request),
                                            ff::study::base_config(request), request);
  ASSERT_EQ(cells.size(), 12u);  // (jigsaw x 2 algos + unsupervised x ff) x 2 lr x 2 seeds
  EXPECT_EQ(cells[0].name, "fashion-mnist-jigsaw-ff-lr1e-3-s0");
  EXPECT_EQ(cells[1].name, "fashion-mnist-jigsaw-ff-lr1e-3-s1");
  EXPECT_EQ(cells[2].name, "fashion-mnist-jigsaw-ff-lr1e-4-s0");
  EXPECT_EQ(cells[4].name, "fashion-mnist-jigsaw-bp-goodness-all-lr1e-3-s0");
  EXPECT_EQ(cells[11].name, "fashion-mnist-unsupervised-ff-lr1e-4-s1");
  EXPECT_FLOAT_EQ(cells[2].config.lr, 1e-4f);
  EXPECT_EQ(cells[1].config.seed, 1u);
  EXPECT_EQ(cells[0].config.epochs, 3);
  EXPECT_FALSE(cells[0].config.reuse_layer1);
  EXPECT_EQ(cells[0].config.layers_spec, "2x64");
  EXPECT_EQ(cells[0].config.probe_epochs, 100);  // the paper preset
}

TEST(StudyGrid, LongPresetIsTheTwoHundredEpochRunsWithATrackedClassifier) {
  StudyRequest request;
  request.preset = "long";
  request.out_dir = "out";
  const auto cells = ff::study::expand_grid(ff::study::make_grid(request),
                                            ff::study::base_config(request), request);
  std::vector<std::string> names;
  for (const auto& cell : cells) {
    names.push_back(cell.name);
    EXPECT_EQ(cell.config.epochs, 200) << cell.name;
    EXPECT_TRUE(cell.config.track_linear) << cell.name;
    EXPECT_EQ(cell.config.layers_spec, "4x2000") << cell.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"mnist-supervised-ff-s0", "mnist-supervised-bp-ce-s0",
                                             "mnist-rotation-ff-s0", "mnist-rotation-bp-ce-s0"}));
}

TEST(StudyGrid, RefusesBadRequests) {
  StudyRequest base;
  base.datasets = {"mnist"};
  base.out_dir = "out";
  auto with = [&](auto change) {
    StudyRequest r = base;
    change(r);
    return r;
  };
  expect_refused(with([](StudyRequest& r) { r.preset = "huge"; }), "unknown --preset 'huge'");
  expect_refused(with([](StudyRequest& r) { r.datasets = {"imagenet"}; }),
                 "unknown --datasets entry 'imagenet'");
  expect_refused(with([](StudyRequest& r) { r.tasks = {"colour"}; }), "unknown --tasks entry");
  expect_refused(with([](StudyRequest& r) { r.algos = {"sgd"}; }), "unknown --algos entry");
  expect_refused(with([](StudyRequest& r) { r.seeds = 0; }), "--seeds must be between 1");
  expect_refused(with([](StudyRequest& r) { r.sweep = "lr"; }), "write OPTION=V1,V2");
  expect_refused(with([](StudyRequest& r) { r.sweep = "speed=1,2"; }), "'speed' is not an option");
  expect_refused(with([](StudyRequest& r) { r.sweep = "dataset=mnist"; }), "not an option a study");
  expect_refused(with([](StudyRequest& r) { r.sweep = "lr=1e-3,,1e-4"; }), "an empty value");
  expect_refused(with([](StudyRequest& r) { r.sweep = "epochs=2,x"; }), "'x' is not a valid value");
  expect_refused(with([](StudyRequest& r) { r.sweep = "score_layers=1,2;1_2"; }),
                 "give the same cell folder");
  expect_refused(with([](StudyRequest& r) {
                   r.overrides = {{"epochs", "many"}};
                 }),
                 "'many' is not a valid value for epochs");
  expect_refused(with([](StudyRequest& r) {
                   r.overrides = {{"task", "rotation"}};
                 }),
                 "set by each cell");
  // A value of the right type but out of range fails in the cells' validation, naming the cell.
  expect_refused(with([](StudyRequest& r) {
                   r.overrides = {{"epochs", "-1"}};
                 }),
                 "study cell mnist-supervised-ff-s0: --epochs");
  expect_refused(with([](StudyRequest& r) {
                   r.tasks = {"unsupervised"};
                   r.algos = {"bp-ce"};
                 }),
                 "the study's grid is empty");
}

// ---- the report --------------------------------------------------------------------------------

TEST(StudyReport, PublishedFiguresCoverEveryRow) {
  const auto published =
      ff::study::parse_published_csv(ff::study::builtin_published_csv(), "built in");
  for (const auto& row : ff::study::report_rows()) {
    for (const char* dataset : {"mnist", "fashion-mnist", "svhn", "cifar10"}) {
      const bool has = published.count({row.table, row.block, row.row, dataset}) == 1;
      // Unsupervised FF's one reference is the original paper's MNIST figure.
      const bool expected = row.block != "unsupervised" || std::string(dataset) == "mnist";
      EXPECT_EQ(has, expected) << row.table << " " << row.block << " " << row.row << " " << dataset;
    }
  }
  EXPECT_DOUBLE_EQ(published.at({1, "rotation", "FF", "mnist"}).value, 98.64);
  EXPECT_DOUBLE_EQ(published.at({4, "jigsaw", "layer 2", "cifar10"}).value, 64.74);
  EXPECT_NE(published.at({4, "flip-hv", "layer 1", "cifar10"}).note.find("doubtful"),
            std::string::npos);
}

TEST(StudyReport, RefusesMalformedPublishedFigures) {
  for (const char* bad :
       {"h\n9,rotation,FF,mnist,1,\n", "h\n1,rotation,FF,mnist,lots,\n", "h\n1,rotation,FF\n"}) {
    EXPECT_THROW(ff::study::parse_published_csv(bad, "x.csv"), ff::Error) << bad;
  }
}

TEST(StudyReport, MeanAndDeviationOverSeedsAndTheFinding) {
  const auto s = ff::study::summarise({80.0, 82.0, 84.0});
  EXPECT_DOUBLE_EQ(s.mean, 82.0);
  EXPECT_DOUBLE_EQ(s.sd, 2.0);  // the sample deviation (n - 1)
  EXPECT_EQ(ff::study::summarise({}).count, 0);

  // A study folder by hand: rotation FF and bp-ce on MNIST, two seeds each.
  const fs::path dir = fresh_dir("report");
  nlohmann::json study = {
      {"settings",
       {{"preset", "quick"},
        {"config", ff::config_to_json(ff::study::preset_config("quick"))},
        {"grid",
         {{"datasets", {"mnist"}},
          {"tasks", {"rotation"}},
          {"algos", {"ff", "bp-ce"}},
          {"seeds", 2},
          {"sweep", {{"option", ""}, {"values", nlohmann::json::array()}}}}}}},
      {"presets", {{"paper", ff::config_to_json(ff::study::preset_config("paper"))}}},
      {"cells", nlohmann::json::array()}};
  const std::map<std::string, std::pair<double, double>> figures = {// task_acc, probe_acc
                                                                    {"ff-s0", {0.97, 0.80}},
                                                                    {"ff-s1", {0.99, 0.82}},
                                                                    {"bp-ce-s0", {0.995, 0.96}},
                                                                    {"bp-ce-s1", {0.995, 0.97}}};
  for (const auto& [suffix, values] : figures) {
    const std::string algo = suffix.substr(0, suffix.size() - 3);
    const std::string name = "mnist-rotation-" + suffix;
    study["cells"].push_back({{"name", name},
                              {"dataset", "mnist"},
                              {"task", "rotation"},
                              {"algo", algo},
                              {"sweep", ""},
                              {"seed", suffix.back() - '0'}});
    fs::create_directories(dir / "cells" / name);
    std::ofstream(dir / "cells" / name / "result.json") << nlohmann::json{
        {"task_acc", values.first},
        {"probe_acc", values.second},
        {"train_seconds", 1.5}}.dump();
  }
  std::ofstream(dir / "study.json") << study.dump();
  ff::write_study_report(dir.string());

  const std::string csv = read_file(dir / "results.csv");
  EXPECT_NE(csv.find(",2,rotation,FF,mnist,81.00,1.41,2,76.33,+4.67,ok\n"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",2,rotation,BP,mnist,96.50,0.71,2,96.81,-0.31,ok\n"), std::string::npos);
  EXPECT_NE(csv.find(",1,rotation,FF,mnist,98.00,1.41,2,98.64,-0.64,ok\n"), std::string::npos);
  EXPECT_NE(csv.find(",2,jigsaw,FF,mnist,,,0,51.18,,not run\n"), std::string::npos);
  EXPECT_EQ(csv.find("seconds"), std::string::npos);  // timing lives in timing.csv
  const std::string md = read_file(dir / "report.md");
  EXPECT_NE(md.find("| rotation | FF | 81.00 ± 1.41 / 76.33 / +4.67 |"), std::string::npos) << md;
  EXPECT_NE(md.find("mnist: so far, on the 1 with both figures (rotation 81.00 < 96.50)"),
            std::string::npos);
  EXPECT_NE(md.find("- layers: \"4x500\" (published: \"4x2000\")"), std::string::npos);
  EXPECT_NE(read_file(dir / "timing.csv").find("mnist-rotation-ff-s0,finished,1.5,"),
            std::string::npos);
}

// ---- end to end --------------------------------------------------------------------------------

class StudyRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string missing = ff::testing_util::mnist_missing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
  }

  // 4 cells of 3 epochs of 5 steps; every epoch checkpointed.
  static std::string tiny_mnist_study(const fs::path& out) {
    return "study --datasets mnist --tasks supervised,rotation --algos ff,bp-ce --layers 2x16 "
           "--epochs 3 --train-limit 500 --test-limit 200 --probe-epochs 2 --fast-epochs 2 "
           "--device cpu --save-interval 0 --data-root " +
           fs::path(ff::testing_util::mnist_dir()).parent_path().string() + " --out " +
           out.string();
  }
};

// Where each crash point is reached, counting from the start of the study: mid-epoch (step 22 is
// step 2 of epoch 2 of the second cell), after the 5th metrics line (second cell, epoch 2), during
// the 4th checkpoint write, at the 2nd final evaluation, in the 3rd probe epoch.
class StudyKill : public StudyRun, public ::testing::WithParamInterface<const char*> {};

TEST_P(StudyKill, RerunCompletesWithIdenticalResultsAndKeepsFinishedCells) {
  const fs::path root = fresh_dir(std::string("kill_") + GetParam());
  const Outcome straight = run_ffcuda(tiny_mnist_study(root / "straight"));
  ASSERT_TRUE(straight.ok()) << straight.output;

  const Outcome killed = run_ffcuda(tiny_mnist_study(root / "killed"), GetParam());
  ASSERT_TRUE(killed.killed()) << "status " << killed.status << "\n" << killed.output;
  std::map<std::string, std::string> finished;  // result.json of cells done before the kill
  for (const auto& entry : fs::directory_iterator(root / "killed" / "cells")) {
    if (fs::exists(entry.path() / "result.json")) {
      finished[entry.path().filename()] = read_file(entry.path() / "result.json");
    }
  }
  EXPECT_FALSE(fs::exists(root / "killed" / "results.csv"));

  const Outcome rerun = run_ffcuda(tiny_mnist_study(root / "killed"));
  ASSERT_TRUE(rerun.ok()) << rerun.output;
  EXPECT_EQ(read_file(root / "killed" / "results.csv"),
            read_file(root / "straight" / "results.csv"));
  for (const auto& [cell, result] : finished) {
    EXPECT_EQ(read_file(root / "killed" / "cells" / cell / "result.json"), result)
        << cell << " was recomputed";
  }
  for (const auto& entry : fs::directory_iterator(root / "killed" / "cells")) {
    // Every epoch logged once, then the final record; no checkpoint left behind.
    std::ifstream metrics(entry.path() / "metrics.jsonl");
    std::vector<int> epochs;
    for (std::string line; std::getline(metrics, line);) {
      const auto record = nlohmann::json::parse(line);
      epochs.push_back(record.contains("final") ? 0 : record.at("epoch").get<int>());
    }
    EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3, 0})) << entry.path();
    EXPECT_FALSE(fs::exists(entry.path() / "checkpoint.safetensors")) << entry.path();
  }
  fs::remove_all(root);
}

INSTANTIATE_TEST_SUITE_P(CrashPoints, StudyKill,
                         ::testing::Values("step:22", "after-metrics:5", "checkpoint-write:4",
                                           "evaluation:2", "probe:3"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           for (char& c : name)
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

TEST_F(StudyRun, RerunWithOtherSettingsIsRefusedAndAReportCanBeRewritten) {
  const fs::path root = fresh_dir("settings");
  const std::string study = tiny_mnist_study(root / "s");
  ASSERT_TRUE(run_ffcuda(study).ok());
  const std::string results = read_file(root / "s" / "results.csv");
  const Outcome other = run_ffcuda(study + " --lr 0.01");
  EXPECT_EQ(WEXITSTATUS(other.status), 1);
  EXPECT_EQ(other.output.rfind("ffcuda: error: ", 0), 0u) << other.output;
  EXPECT_NE(other.output.find("holds another study (config.lr:"), std::string::npos)
      << other.output;
  EXPECT_EQ(std::count(other.output.begin(), other.output.end(), '\n'), 1) << other.output;
  // The same command again: nothing to do, the same results.
  const Outcome again = run_ffcuda(study);
  ASSERT_TRUE(again.ok()) << again.output;
  EXPECT_NE(again.output.find("4 finished (4 of them earlier)"), std::string::npos) << again.output;
  fs::remove(root / "s" / "results.csv");
  ASSERT_TRUE(run_ffcuda("study --report " + (root / "s").string()).ok());
  EXPECT_EQ(read_file(root / "s" / "results.csv"), results);
  fs::remove_all(root);
}

// Each cell is trained under a lock of its own (cells/<cell>/cell.lock): a second study in the
// same folder (a shard, another copy of the command) never trains a cell another process holds.
// It trains the others, waits for the held ones, then counts what that process recorded, or takes
// the cell over when that process ended without a result.
TEST_F(StudyRun, ASecondStudyInTheSameFolderNeverTrainsACellAnotherProcessHolds) {
  const fs::path root = fresh_dir("lock");
  const fs::path cells = root / "s" / "cells";
  // This test process holds the locks a running study would hold on two cells.
  std::map<std::string, int> held;
  for (const char* cell : {"mnist-supervised-bp-ce-s0", "mnist-rotation-ff-s0"}) {
    fs::create_directories(cells / cell);
    // O_CLOEXEC: the study started below must not inherit (and so hold) these locks.
    const int fd = ::open((cells / cell / "cell.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
    held[cell] = fd;
  }
  auto study =
      std::async(std::launch::async, [&] { return run_ffcuda(tiny_mnist_study(root / "s")); });
  // It trains the two cells nobody holds...
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  while (!(fs::exists(cells / "mnist-supervised-ff-s0" / "result.json") &&
           fs::exists(cells / "mnist-rotation-bp-ce-s0" / "result.json")) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // ...and leaves the held ones alone, waiting.
  EXPECT_EQ(study.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  for (const auto& [cell, fd] : held) {
    EXPECT_FALSE(fs::exists(cells / cell / "metrics.jsonl")) << cell << " was trained";
  }
  // One holder records a failure and ends; the other ends without a result (killed, say).
  std::ofstream(cells / "mnist-supervised-bp-ce-s0" / "error.json")
      << R"({"status": "failed", "error": "diverged"})";
  for (const auto& [cell, fd] : held) ::close(fd);
  const Outcome second = study.get();
  EXPECT_EQ(WEXITSTATUS(second.status), 1) << second.output;
  for (const char* line :
       {"study: mnist-supervised-bp-ce-s0: another process is training it; waiting for it",
        "study: mnist-rotation-ff-s0: another process is training it; waiting for it",
        "study: mnist-supervised-bp-ce-s0: failed in another process: diverged",
        "mnist-rotation-ff-s0, taken over from another process",
        "4 cells: 3 finished (0 of them earlier), 0 no data, 1 failed"}) {
    EXPECT_NE(second.output.find(line), std::string::npos) << line << "\n" << second.output;
  }
  EXPECT_TRUE(fs::exists(cells / "mnist-rotation-ff-s0" / "result.json"));
  EXPECT_FALSE(fs::exists(cells / "mnist-supervised-bp-ce-s0" / "metrics.jsonl"));
  fs::remove_all(root);
}

// CIFAR-10 and SVHN cannot be downloaded here: tiny files in their exact formats take their place,
// so that the colour path (3 channels, 32x32) runs through a whole study; a dataset that is not
// there gives "no data" cells while the rest runs.
TEST(StudyColour, TinyStudyOnSyntheticCifarAndSvhnFiles) {
  const fs::path root = fresh_dir("colour");
  ff::testing_util::write_cifar10_folder((root / "data" / "cifar10").string(), 40, 40);
  ff::testing_util::write_svhn_folder((root / "data" / "svhn").string(), 200, 40);
  const std::string study =
      "study --datasets cifar10,svhn,fashion-mnist --tasks supervised,rotation --algos ff,bp-ce "
      "--layers 2x16 --epochs 1 --batch 20 --probe-epochs 1 --fast-epochs 1 --device cpu "
      "--data-root " +
      (root / "data").string() + " --out " + (root / "study").string();
  const Outcome outcome = run_ffcuda(study);
  ASSERT_TRUE(outcome.ok()) << outcome.output;
  EXPECT_NE(outcome.output.find("study: fashion-mnist: no data: no folder"), std::string::npos)
      << outcome.output;
  EXPECT_NE(outcome.output.find("12 cells: 8 finished (0 of them earlier), 4 no data, 0 failed"),
            std::string::npos)
      << outcome.output;
  const std::string csv = read_file(root / "study" / "results.csv");
  for (const char* row :
       {",1,rotation,FF,cifar10,", ",1,rotation,BP,svhn,", ",2,supervised,FF fast,svhn,",
        ",2,rotation,BP,cifar10,", ",4,rotation,layer 2,svhn,"}) {
    const size_t at = csv.find(row);
    ASSERT_NE(at, std::string::npos) << row;
    const std::string line = csv.substr(at, csv.find('\n', at) - at);
    EXPECT_EQ(line.substr(line.rfind(',') + 1), "ok") << line;
  }
  EXPECT_NE(csv.find(",2,rotation,FF,fashion-mnist,,,0,78.98,,no data\n"), std::string::npos)
      << csv;
  const auto result = nlohmann::json::parse(
      read_file(root / "study" / "cells" / "cifar10-rotation-ff-s0" / "result.json"));
  EXPECT_EQ(result.at("config").at("dataset"), "cifar10");
  fs::remove_all(root);
}

}  // namespace
