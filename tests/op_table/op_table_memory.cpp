// Memory and reduction ops: fill, copy, copy_to_device, copy_to_host, add, sum_into,
// count_equal, advance_cursor.
#include <cmath>
#include <memory>
#include <string>

#include "op_inputs.hpp"
#include "op_table.hpp"

namespace ff::optable {

namespace {

// Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on chains of string operator+.
std::string n_label(size_t n, uint64_t seed, const char* variant = "") {
  std::string label = "n";
  label += std::to_string(n);
  label += variant;
  label += "_seed";
  label += std::to_string(seed);
  return label;
}

void fill_case(OpCall& k, size_t n, uint64_t seed) {
  const float value = random_floats(1, seed, 1, -3.0f, 3.0f)[0];
  float* x = k.output("fill", poison(n), Tolerance::bitwise());  // a store: exact
  Backend& b = k.backend();
  k.run = [&b, x, n, value] { b.fill(x, n, value); };
  k.bytes = 4.0 * n;
}

void copy_case(OpCall& k, size_t n, uint64_t seed) {
  const float* src = k.input(random_floats(n, seed, 1, -1, 1));
  float* dst = k.output("copy", poison(n), Tolerance::bitwise());  // bytes: exact
  Backend& b = k.backend();
  k.run = [&b, src, dst, n] { b.copy(dst, src, n * sizeof(float)); };
  k.bytes = 8.0 * n;
}

void copy_to_device_case(OpCall& k, size_t n, uint64_t seed) {
  auto host = std::make_shared<std::vector<float>>(random_floats(n, seed, 1, -1, 1));
  float* dst = k.output("copy_to_device", poison(n), Tolerance::bitwise());
  Backend& b = k.backend();
  k.run = [&b, host, dst, n] { b.copy_to_device(dst, host->data(), n * sizeof(float)); };
  k.bytes = 4.0 * n;
}

void copy_to_host_case(OpCall& k, size_t n, uint64_t seed) {
  const float* src = k.input(random_floats(n, seed, 1, -1, 1));
  float* dst = k.host_output("copy_to_host", n);
  Backend& b = k.backend();
  k.run = [&b, src, dst, n] { b.copy_to_host(dst, src, n * sizeof(float)); };
  k.bytes = 4.0 * n;
}

// Out of place, or in place into a (the trainer's use is out of place; aliasing must work too).
void add_case(OpCall& k, size_t n, bool in_place, uint64_t seed) {
  const float* b_in = k.input(random_floats(n, seed, 2, -1, 1));
  float* a = in_place
                 ? k.output("add in place", random_floats(n, seed, 1, -1, 1), Tolerance::bitwise())
                 : k.input(random_floats(n, seed, 1, -1, 1));
  float* out = in_place ? a : k.output("add", poison(n), Tolerance::bitwise());  // one IEEE add
  Backend& b = k.backend();
  k.run = [&b, a, b_in, n, out] { b.add(a, b_in, n, out); };
  k.flops = static_cast<double>(n);
  k.bytes = 12.0 * n;
}

void sum_into_case(OpCall& k, int n, uint64_t seed) {
  const float* x = k.input(random_floats(n, seed, 1, -1, 1));
  const std::vector<float> start = random_floats(1, seed, 2, -10, 10);
  // Both accumulate in double; the doubles differ by ~1e-16 relative, so the floats differ by at
  // most one rounding of the total: 1 ulp of a sum of n terms of size <= 1 (|sum| ~ sqrt(n)).
  const double atol = 2e-7 * (std::fabs(start[0]) + std::sqrt(static_cast<double>(n)) * 8.0);
  float* acc = k.output("sum_into", start, Tolerance::close(atol, 0.0));
  Backend& b = k.backend();
  k.run = [&b, x, n, acc] { b.sum_into(x, n, acc); };
  k.flops = n;
  k.bytes = 4.0 * n;
  k.deterministic = true;  // "in a fixed order (bit-reproducible)"
}

void count_equal_case(OpCall& k, int n, uint64_t seed) {
  const int32_t* a = k.input(random_ints(n, seed, 1, 3));
  const int32_t* bv = k.input(random_ints(n, seed, 2, 3));
  int64_t* acc = k.output("count_equal", std::vector<int64_t>{5});  // integers: exact
  Backend& b = k.backend();
  k.run = [&b, a, bv, n, acc] { b.count_equal(a, bv, n, acc); };
  k.bytes = 8.0 * n;
}

void advance_cursor_case(OpCall& k, int32_t step) {
  // A StepCursor is {uint64 epoch, int32 step, int32 unused}: four int32 words, compared exactly.
  static_assert(sizeof(StepCursor) == 4 * sizeof(int32_t));
  int32_t* words = k.output("advance_cursor", std::vector<int32_t>{7, 0, step, 0});
  Backend& b = k.backend();
  k.run = [&b, words] { b.advance_cursor(reinterpret_cast<StepCursor*>(words)); };
  k.bytes = 2.0 * sizeof(StepCursor);
}

}  // namespace

void add_memory_cases(std::vector<OpCase>& cases, bool bench) {
  auto add = [&](const std::string& op, const std::string& label, std::function<void(OpCall&)> f) {
    cases.push_back({op, label, std::move(f)});
  };
  // Benchmarks: the parameters of 4x2000 on MNIST (fill of the gradients), a batch of 200 rows of
  // 2000 (activations), the batch input uploaded, the loss sums read back.
  const std::vector<size_t> sizes =
      bench ? std::vector<size_t>{400000, 13576000} : std::vector<size_t>{1, 7, 257, 100003};
  const std::vector<uint64_t> seeds =
      bench ? std::vector<uint64_t>{1} : std::vector<uint64_t>{1, 2};
  for (size_t n : sizes) {
    for (uint64_t seed : seeds) {
      add("fill", n_label(n, seed), [=](OpCall& k) { fill_case(k, n, seed); });
      add("copy", n_label(n, seed), [=](OpCall& k) { copy_case(k, n, seed); });
      add("copy_to_device", n_label(n, seed), [=](OpCall& k) { copy_to_device_case(k, n, seed); });
      add("copy_to_host", n_label(n, seed), [=](OpCall& k) { copy_to_host_case(k, n, seed); });
      add("count_equal", n_label(n, seed),
          [=](OpCall& k) { count_equal_case(k, static_cast<int>(n), seed); });
      add("add", n_label(n, seed), [=](OpCall& k) { add_case(k, n, false, seed); });
      if (!bench) {
        add("add", n_label(n, seed, "_in_place"), [=](OpCall& k) { add_case(k, n, true, seed); });
      }
    }
  }
  const std::vector<int> sums =
      bench ? std::vector<int>{100, 10000} : std::vector<int>{1, 7, 511, 512, 513, 1025, 100003};
  for (int n : sums) {
    for (uint64_t seed : seeds) {
      add("sum_into", n_label(n, seed), [=](OpCall& k) { sum_into_case(k, n, seed); });
    }
  }
  for (int32_t step : bench ? std::vector<int32_t>{5} : std::vector<int32_t>{0, 599}) {
    add("advance_cursor", std::string("step").append(std::to_string(step)),
        [=](OpCall& k) { advance_cursor_case(k, step); });
  }
}

}  // namespace ff::optable
