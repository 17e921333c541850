// Where the tests find the checkout (data/mnist) and the ffcuda binary: the paths of the build
// (compile definitions), unless FF_SOURCE_DIR / FF_BINARY are set in the environment, as
// tools/gpu-check.sh does for a build copied to another machine (another checkout path).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace ff::testing_util {

inline std::string path_from_env(const char* name, const char* built_in) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(built_in);
}

inline std::string source_dir() { return path_from_env("FF_SOURCE_DIR", FF_SOURCE_DIR); }
inline std::string ffcuda_binary() { return path_from_env("FF_BINARY", FF_BINARY); }
inline std::string mnist_dir() { return source_dir() + "/data/mnist"; }

// Why the tests that train on MNIST cannot run ("" when data/mnist is there, plain or gzipped):
// the reason their GTEST_SKIP gives.
inline std::string mnist_missing() {
  const std::string labels = mnist_dir() + "/train-labels-idx1-ubyte";
  if (std::filesystem::exists(labels) || std::filesystem::exists(labels + ".gz")) return "";
  return "MNIST not found in " + mnist_dir() + ": run tools/setup.sh";
}

}  // namespace ff::testing_util
