// Helpers of the GPU parity suites (tests/test_parity_*.cpp): a CUDA backend when there is one
// (else the reason to skip), seeded inputs from Philox (portable: the same data on every machine
// and standard library), NaN poisoning, and comparisons that check NaN/Inf first, then
// |gpu - cpu| <= atol + rtol*|cpu|, and print the worst element on failure.
//
// The file compiles in every build. In a CPU-only build, or with no usable device, every parity
// test skips with the reason ("built without CUDA", "no CUDA device: ...").
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "ff/backend.hpp"
#include "ff/devices.hpp"
#include "ff/philox.hpp"
#include "op_table/op_inputs.hpp"

namespace ff::parity {

// A CUDA backend on the first device, or null with `why` set to the skip message.
inline std::unique_ptr<Backend> make_cuda_or_explain(std::string* why) {
  if (!cuda_compiled_in()) {
    *why = "built without CUDA";
    return nullptr;
  }
  std::string none;
  if (list_cuda_devices(&none).empty()) {
    *why = "no CUDA device: " + none;
    return nullptr;
  }
  return make_backend("cuda");
}

// One CUDA backend for the whole test process: making one per test (stream, pool, cuBLAS(Lt)
// handles, 32 MiB GEMM workspace) would dominate the run, above all under compute-sanitizer.
// Released in TearDown, i.e. at the end of RUN_ALL_TESTS, before static destruction (when the
// CUDA runtime may already be unloading).
class SharedCuda : public ::testing::Environment {
 public:
  static Backend* get(std::string* why) {
    State& s = state();
    if (!s.tried) {
      s.tried = true;
      s.backend = make_cuda_or_explain(&s.why);
    }
    *why = s.why;
    return s.backend.get();
  }
  void TearDown() override { state().backend.reset(); }

 private:
  struct State {
    bool tried = false;
    std::string why;
    std::unique_ptr<Backend> backend;
  };
  static State& state() {
    static State s;
    return s;
  }
};
inline ::testing::Environment* const kSharedCudaEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedCuda);

// Base fixture: cpu_ and gpu_ backends; skips the test (with the reason) where there is no GPU.
// Arrays made in a test body die before TearDown, so before their backend.
class ParityFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    gpu_ = SharedCuda::get(&why);
    if (gpu_ == nullptr) GTEST_SKIP() << why;
    // The oracle of bf16 GEMMs is the emulation: the GPU's operands, fp32 products.
    cpu_ = make_cpu_backend(CpuBf16::kEmulated);
  }
  std::unique_ptr<Backend> cpu_;
  Backend* gpu_ = nullptr;
};

template <class Param>
class ParityParamFixture : public ParityFixture, public ::testing::WithParamInterface<Param> {};

using optable::kNaN;
using optable::quantized_floats;
using optable::random_floats;
using optable::random_ints;

// The same host data in the CPU and the GPU backend.
template <class T>
struct Twin {
  Array<T> cpu, gpu;
  Twin(Backend& cpu_backend, Backend& gpu_backend, const std::vector<T>& host)
      : cpu(cpu_backend, host), gpu(gpu_backend, host) {}
};

// An output in both backends, NaN-poisoned (so an element the op forgets to write fails).
inline Twin<float> poisoned(Backend& cpu, Backend& gpu, size_t n) {
  return Twin<float>(cpu, gpu, std::vector<float>(n, kNaN));
}

// |gpu - cpu| <= allowed(i) for every element. NaN where the CPU has NaN is required of the GPU too
// (a poisoned element the op must not write); a NaN/Inf where the CPU is finite is reported first.
inline ::testing::AssertionResult close_to(const std::string& what, const std::vector<float>& gpu,
                                           const std::vector<float>& cpu,
                                           const std::function<double(size_t)>& allowed) {
  if (gpu.size() != cpu.size()) {
    return ::testing::AssertionFailure() << what << ": size " << gpu.size() << " vs " << cpu.size();
  }
  size_t bad = 0, worst = 0;
  double worst_ratio = -1.0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const bool cpu_finite = std::isfinite(cpu[i]), gpu_finite = std::isfinite(gpu[i]);
    if (std::isnan(cpu[i]) || !cpu_finite || !gpu_finite) {
      const bool same = (std::isnan(cpu[i]) && std::isnan(gpu[i])) || cpu[i] == gpu[i];
      if (!same) {
        return ::testing::AssertionFailure()
               << what << ": non-finite mismatch at [" << i << "]: gpu " << gpu[i] << ", cpu "
               << cpu[i]
               << (std::isnan(gpu[i]) ? " (NaN: element not written, or NaN computed)"
                                      : " (written where the CPU leaves it)");
      }
      continue;
    }
    const double diff = std::fabs(static_cast<double>(gpu[i]) - cpu[i]);
    const double limit = allowed(i);
    const double ratio = limit > 0.0 ? diff / limit : (diff > 0.0 ? INFINITY : 0.0);
    if (diff > limit) ++bad;
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": " << bad << " of " << cpu.size() << " elements out of tolerance; worst ["
         << worst << "] gpu " << gpu[worst] << " cpu " << cpu[worst] << " |diff| "
         << std::fabs(static_cast<double>(gpu[worst]) - cpu[worst]) << " allowed "
         << allowed(worst);
}

inline ::testing::AssertionResult close_to(const std::string& what, const std::vector<float>& gpu,
                                           const std::vector<float>& cpu, double atol,
                                           double rtol) {
  return close_to(what, gpu, cpu,
                  [&](size_t i) { return atol + rtol * std::fabs(static_cast<double>(cpu[i])); });
}

template <class T>
::testing::AssertionResult equal_to(const std::string& what, const std::vector<T>& gpu,
                                    const std::vector<T>& cpu) {
  if (gpu.size() != cpu.size()) {
    return ::testing::AssertionFailure() << what << ": size " << gpu.size() << " vs " << cpu.size();
  }
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (!(gpu[i] == cpu[i])) {
      return ::testing::AssertionFailure()
             << what << ": first mismatch at [" << i << "]: gpu " << gpu[i] << ", cpu " << cpu[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// Weights of a GPU training run against the CPU's. Adam normalises each update to ~lr whatever the
// gradient's size, so a weight whose gradient is pure rounding noise (a ReLU unit on its boundary,
// whose sign then flips between backends) may drift by up to ~lr per step on one side only. Hence:
// every element within atol + rtol|w| except at most `outlier_fraction` of them (the rare
// sign-flip), and none beyond `max_drift` (2 * steps * lr: beyond it is a bug, not rounding).
inline ::testing::AssertionResult weights_agree(const std::string& what,
                                                const std::vector<float>& gpu,
                                                const std::vector<float>& cpu, double atol,
                                                double rtol, double outlier_fraction,
                                                double max_drift) {
  if (gpu.size() != cpu.size()) {
    return ::testing::AssertionFailure() << what << ": size " << gpu.size() << " vs " << cpu.size();
  }
  size_t outliers = 0, worst = 0;
  double max_diff = 0.0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    if (!std::isfinite(gpu[i])) {
      return ::testing::AssertionFailure() << what << ": gpu [" << i << "] = " << gpu[i];
    }
    const double d = std::fabs(static_cast<double>(gpu[i]) - cpu[i]);
    if (d > atol + rtol * std::fabs(static_cast<double>(cpu[i]))) ++outliers;
    if (d > max_diff) {
      max_diff = d;
      worst = i;
    }
  }
  const size_t allowed = static_cast<size_t>(outlier_fraction * static_cast<double>(cpu.size()));
  if (outliers <= allowed && max_diff <= max_drift) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": " << outliers << " of " << cpu.size() << " weights out of tolerance ("
         << allowed << " allowed); worst [" << worst << "] gpu " << gpu[worst] << " cpu "
         << cpu[worst] << " (|diff| " << max_diff << ", drift bound " << max_drift << ")";
}

// "<op>_<shape>_seed<seed>" style names for parameterised tests: only [A-Za-z0-9_].
inline std::string sanitize(std::string name) {
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

}  // namespace ff::parity
