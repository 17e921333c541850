// The CUDA backend as a plugin: the programs do not link the CUDA libraries, `ffcuda devices`
// says whether the plugin loads, and with the CUDA libraries gone a CUDA-built ffcuda still trains
// on the CPU, saying why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "command_util.hpp"
#include "ff/backend.hpp"
#include "ff/cuda_plugin.hpp"
#include "test_paths.hpp"

namespace ff {
namespace {

namespace fs = std::filesystem;
using testing_util::ffcuda_binary;

// stdout and stderr of a shell command, and whether it exited 0.
std::pair<bool, std::string> shell(const std::string& command) {
  const testing_util::CommandOutcome outcome = testing_util::run_shell_command(command);
  return {outcome.ok(), outcome.output};
}

TEST(CudaPlugin, TheProgramsDoNotLinkTheCudaLibraries) {
  const auto [ok, ldd] = shell("ldd " + ffcuda_binary());
  ASSERT_TRUE(ok) << ldd;
  ASSERT_NE(ldd.find("libff_core.so"), std::string::npos) << ldd;  // the listing is real
  EXPECT_EQ(ldd.find("libcudart"), std::string::npos) << ldd;
  EXPECT_EQ(ldd.find("libcublas"), std::string::npos) << ldd;
}

TEST(CudaPlugin, DevicesSaysWhetherThePluginLoadsAndFromWhere) {
  const auto outcome = testing_util::run_ffcuda_command("devices");
  ASSERT_TRUE(outcome.ok()) << outcome.output;
  if (!cuda_compiled_in()) {
    EXPECT_NE(outcome.output.find("CUDA backend compiled in: no"), std::string::npos);
    EXPECT_EQ(outcome.output.find("CUDA plugin:"), std::string::npos) << outcome.output;
    return;
  }
  // Beside the engine's libraries: beside the binary in a build tree, in lib/ of a bundle; ldd
  // says where the binary's libff_core.so is.
  const auto [ldd_ok, ldd] = shell("ldd " + ffcuda_binary());
  ASSERT_TRUE(ldd_ok) << ldd;
  std::smatch core;
  ASSERT_TRUE(std::regex_search(ldd, core, std::regex("libff_core\\.so => (\\S+)"))) << ldd;
  const std::string plugin = (fs::path(core[1].str()).parent_path() / kCudaPluginFile).string();
  ASSERT_TRUE(fs::exists(plugin)) << plugin;
  std::smatch line;
  ASSERT_TRUE(std::regex_search(outcome.output, line, std::regex("CUDA plugin: (\\S+) \\((.*)\\)")))
      << outcome.output;
  EXPECT_EQ(fs::weakly_canonical(line[1].str()), fs::weakly_canonical(plugin));
  // Either it loads, or the line names the library that is missing.
  if (line[2] != "loads") {
    EXPECT_NE(line[2].str().find("cannot open shared object file"), std::string::npos) << line[2];
  }
}

// The folders the plugin's CUDA libraries come from, when each is a CUDA folder that can be
// hidden without hiding the C library.
std::set<std::string> cuda_library_folders(const std::string& plugin) {
  const auto [ok, ldd] = shell("ldd " + plugin);
  std::set<std::string> folders;
  if (!ok) return folders;
  const std::regex library("\\s(libcu(dart|blas|blasLt)\\.so\\S*) => (\\S+)");
  for (std::sregex_iterator it(ldd.begin(), ldd.end(), library), end; it != end; ++it) {
    const fs::path folder = fs::path((*it)[3].str()).parent_path();
    if (folder.string().find("cuda") == std::string::npos) return {};
    if (fs::exists(folder / "libc.so.6")) return {};
    folders.insert(fs::canonical(folder).string());
  }
  return folders;
}

TEST(CudaPlugin, WithTheCudaLibrariesHiddenACudaBuildTrainsOnTheCpuAndSaysWhy) {
  if (!cuda_compiled_in()) GTEST_SKIP() << "a build without CUDA has no plugin to miss";
  if (const std::string why = testing_util::mnist_missing(); !why.empty()) GTEST_SKIP() << why;
  const std::string plugin = (fs::path(ffcuda_binary()).parent_path() / kCudaPluginFile).string();
  const std::set<std::string> folders = cuda_library_folders(plugin);
  if (folders.empty()) GTEST_SKIP() << "the CUDA libraries are not in a folder of their own here";
  // A private mount namespace hides them from the child alone; it needs the right to make one.
  if (!shell("unshare -m true").first) {
    GTEST_SKIP() << "cannot make a mount namespace here (unshare -m needs root or user namespaces)";
  }
  const fs::path empty = fs::temp_directory_path() / ("ffcuda_no_cuda_" + std::to_string(getpid()));
  const fs::path out = empty.string() + "_run";
  fs::create_directories(empty);
  std::string hide;
  for (const std::string& folder : folders)
    hide += "mount --bind " + empty.string() + " " + folder + " && ";
  const std::string train = ffcuda_binary() + " train --dataset mnist --data-dir " +
                            testing_util::mnist_dir() +
                            " --layers 1x16 --epochs 1 --train-limit 500 --test-limit 100 "
                            "--device auto --out " +
                            out.string();
  const auto [devices_ok, devices] =
      shell("unshare -m sh -c '" + hide + "exec " + ffcuda_binary() + " devices'");
  const auto [train_ok, training] = shell("unshare -m sh -c '" + hide + "exec " + train + "'");
  fs::remove_all(empty);
  const bool wrote_result = fs::exists(out / "result.json");
  fs::remove_all(out);

  ASSERT_TRUE(devices_ok) << devices;
  EXPECT_NE(devices.find("the CUDA backend cannot be loaded: libcu"), std::string::npos) << devices;
  ASSERT_TRUE(train_ok) << training;
  EXPECT_TRUE(wrote_result);
  EXPECT_NE(training.find("running on the CPU"), std::string::npos) << training;
  // One line says why, before the run's own output.
  EXPECT_EQ(training.rfind("ffcuda: no usable CUDA device (", 0), 0u) << training;
}

}  // namespace
}  // namespace ff
