// The errors ffcuda reports. ff::Error is the user's: a message that says what is wrong and what
// to do; the CLI prints it on one line and exits with status 1. ff::InternalError is ffcuda's own:
// an invariant that does not hold whatever the user did; the CLI exits with status 2.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace ff {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Raised for failures of the CUDA runtime or cuBLAS: names the call, file:line and device. A user
// error (exit status 1): such failures come from the machine (driver, device memory, a busy or
// lost GPU), which the user can act on; a call ffcuda got wrong is a bug, but the runtime cannot
// tell the two apart, and guessing "bug" would send reports for a driver problem.
class CudaError : public Error {
 public:
  explicit CudaError(const std::string& what) : Error(what) {}
};

// A bug in ffcuda: sizes that disagree between two of its own parts, a state its code should have
// made impossible. Not an ff::Error, so no handler meant for the user's mistakes (those that name
// the option at fault, or record a study cell's bad settings) presents it as one. The message
// starts with "internal error:" and asks for a report.
class InternalError : public std::logic_error {
 public:
  explicit InternalError(const std::string& what)
      : std::logic_error("internal error: " + what + " (a bug in ffcuda; please report it)") {}
};

// Throws ff::Error(message) when the condition is false. For user input, not for internal bugs.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

// Throws ff::InternalError(message) when the condition is false: for ffcuda's own invariants.
inline void check_invariant(bool condition, const std::string& message) {
  if (!condition) throw InternalError(message);
}

// How the command ends on an exception: the line it prints on stderr and its exit status. 1 for
// the user's errors: ff::Error (CudaError included) and a filesystem error (a path the user gave).
// 2 for ff::InternalError and any other exception (a library's or the standard library's own,
// which ffcuda should have turned into an ff::Error if the user could cause it).
struct ErrorReport {
  std::string line;  // "ffcuda: error: ..." or "ffcuda: internal error: ..."
  int exit_status;
};
ErrorReport error_report(const std::exception& error);

}  // namespace ff
