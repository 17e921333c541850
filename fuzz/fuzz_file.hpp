// The readers take paths: each input is written to a file of this process first (in /dev/shm
// when it exists, so that a million inputs cost no disk writes).
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

namespace ff::fuzz {

inline std::string scratch_path(const std::string& name) {
  static const std::string dir = std::filesystem::is_directory("/dev/shm")
                                     ? std::string("/dev/shm")
                                     : std::filesystem::temp_directory_path().string();
  return dir + "/ffcuda_fuzz_" + std::to_string(::getpid()) + "_" + name;
}

inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  const std::string path = scratch_path(name);
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) std::abort();
  if (size > 0 && std::fwrite(data, 1, size, file) != size) std::abort();
  std::fclose(file);
  return path;
}

}  // namespace ff::fuzz
