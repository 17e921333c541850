// User-facing errors. ff::Error carries a message that says what is wrong and what to do; the CLI
// prints it on one line and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace ff {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// Raised for failures of the CUDA runtime or cuBLAS: names the call, file:line and device.
class CudaError : public Error {
 public:
  explicit CudaError(const std::string& what) : Error(what) {}
};

// Throws ff::Error(message) when the condition is false. For user input, not for internal bugs.
inline void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

}  // namespace ff
