// A named phase of the engine's work: an NVTX range (so Nsight shows it by name) and, when a
// PhaseTimes is attached (ffcuda bench), its wall time measured between two synchronisations.
// Without PhaseTimes nothing is synchronised: training runs unperturbed.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "ff/backend.hpp"
#include "ff/nvtx.hpp"

namespace ff {

struct PhaseTimes {
  std::map<std::string, double> seconds;
};

class Phase {
 public:
  Phase(const char* name, Backend& backend, PhaseTimes* times)
      : range_(name), name_(name), backend_(backend), times_(times) {
    if (times_) {
      backend_.synchronize();
      start_ = std::chrono::steady_clock::now();
    }
  }
  ~Phase() {
    if (times_) {
      backend_.synchronize();
      times_->seconds[name_] +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }
  }
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  NvtxRange range_;
  const char* name_;
  Backend& backend_;
  PhaseTimes* times_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace ff
