// Running the ffcuda binary from a test: its exit status and everything it printed.
#pragma once

#include <sys/wait.h>

#include <array>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_paths.hpp"

namespace ff::testing_util {

struct CommandOutcome {
  int status;          // as waitpid reports it
  std::string output;  // stdout and stderr together
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
  // Killed by SIGKILL, seen directly or through the shell popen runs the command in.
  bool killed() const {
    return (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) ||
           (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGKILL);
  }
};

// A shell command line, its stderr joined to its stdout.
inline CommandOutcome run_shell_command(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  std::string output;
  std::array<char, 512> buffer{};
  while (pipe && fgets(buffer.data(), buffer.size(), pipe)) output += buffer.data();
  return {pipe ? pclose(pipe) : -1, output};
}

// `prefix` runs in the shell before the binary: an environment variable, a ulimit.
inline CommandOutcome run_ffcuda_command(const std::string& arguments,
                                         const std::string& prefix = "") {
  return run_shell_command(prefix + " " + ffcuda_binary() + " " + arguments);
}

inline std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace ff::testing_util
