// One call of one Backend op on one backend, with its inputs made: what both the GPU parity suite
// (the same call on the CPU and on CUDA, outputs compared) and the micro-benchmarks (the call
// timed with the backend's own marks) run. A case's prepare function fills an OpCall.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "ff/backend.hpp"

namespace ff::optable {

// How an output of the GPU is compared with the CPU's: exactly, or within
// atol + rtol * s_i, where s_i is scale[i] when a scale is given (a bound on the magnitude of the
// terms that made element i) and |cpu_i| otherwise.
struct Tolerance {
  bool exact = true;
  double atol = 0.0, rtol = 0.0;
  std::vector<float> scale;
  static Tolerance bitwise() { return {}; }
  static Tolerance close(double atol, double rtol) { return {false, atol, rtol, {}}; }
};

// An output after the call, on the host.
struct OpResult {
  std::string name;
  std::vector<float> floats;      // float outputs
  std::vector<int64_t> integers;  // int32 and int64 outputs, widened
  std::vector<float> initial;     // float outputs: the values before the call
  Tolerance tolerance;
};

class OpCall {
 public:
  // `for_parity`: the call will be compared, so a prepare function may compute what only the
  // comparison needs (e.g. a GEMM's magnitude bound on the host).
  OpCall(Backend& backend, bool for_parity) : backend_(backend), for_parity_(for_parity) {}

  Backend& backend() { return backend_; }
  bool for_parity() const { return for_parity_; }

  // Inputs: backend copies of host data. The pointers stay valid as long as the OpCall.
  float* input(const std::vector<float>& host) { return keep(floats_, host); }
  int32_t* input(const std::vector<int32_t>& host) { return keep(ints_, host); }
  uint8_t* input(const std::vector<uint8_t>& host) { return keep(bytes_, host); }
  // Outputs the comparison checks, starting from `initial` (NaN poison where the op must write,
  // data where it accumulates or must leave values alone).
  float* output(const std::string& name, const std::vector<float>& initial, Tolerance tolerance);
  int32_t* output(const std::string& name, const std::vector<int32_t>& initial);  // exact
  int64_t* output(const std::string& name, const std::vector<int64_t>& initial);  // exact
  // Host memory the op writes (copy_to_host), compared exactly.
  float* host_output(const std::string& name, size_t n);

  std::function<void()> run;   // the op itself; repeatable (benchmarks call it many times)
  double flops = 0.0;          // floating-point operations of one call
  double bytes = 0.0;          // bytes one call must read and write at the least
  bool deterministic = false;  // the same inputs must give the same bits on every call
  // The call may leave every output as it found it (e.g. the gradient through a one-element
  // norm is zero); otherwise a case that changes nothing is a broken case.
  bool may_leave_outputs = false;

  std::vector<OpResult> results() const;  // every compared output, downloaded

 private:
  template <class T>
  T* keep(std::vector<Array<T>>& store, const std::vector<T>& host) {
    store.emplace_back(backend_, host);
    return store.back().data();
  }
  struct Compared {
    std::string name;
    enum Kind { kFloat, kInt32, kInt64, kHost } kind;
    size_t index;
    std::vector<float> initial;
    Tolerance tolerance;
  };
  Backend& backend_;
  bool for_parity_;
  std::vector<Array<float>> floats_;
  std::vector<Array<int32_t>> ints_;
  std::vector<Array<int64_t>> longs_;
  std::vector<Array<uint8_t>> bytes_;
  std::vector<std::vector<float>> host_;
  std::vector<Compared> compared_;
};

}  // namespace ff::optable
