// A study cell in a child process: the same binary (/proc/self/exe) with `study --run-cell`, its
// output appended to the cell's log.txt, its own process group (so that stopping it reaches
// whatever it started), killed with its parent if the parent dies, and the parent's stop signals
// passed on to it.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace ff::study {

struct ChildSpec {
  std::vector<std::string> arguments;                            // after the program name
  std::vector<std::pair<std::string, std::string>> environment;  // set in the child, over ours
  std::string log_path;                                          // stdout and stderr, appended
  int inherited_fd = -1;  // kept open across exec (the cell's lock), or -1
};

// Starts the child; returns its pid (also its process group). Throws ff::Error when it cannot.
pid_t start_child(const ChildSpec& spec);

// "exited with status 1", "was killed by signal 9 (Killed)": a waitpid status in words.
std::string describe_exit(int status);

// SIGINT, SIGTERM and SIGHUP, caught while this object lives so that the children can be stopped
// first; requested() is then set and the signal is raised again by raise_again().
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  bool requested() const;
  // Restores the previous handlers and raises the signal that was caught (ends the process).
  [[noreturn]] void raise_again();
};

// Sends SIGTERM to each child's process group, waits up to `grace_s` seconds for them all, then
// SIGKILLs those left, and reaps them.
void stop_children(const std::vector<pid_t>& children, double grace_s);

// The last non-empty line of a text file ("" if none): what a child said before it ended.
std::string last_line_of(const std::string& path);

}  // namespace ff::study
