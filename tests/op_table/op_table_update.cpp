// The optimisers: adam (with its constants given, or read from a schedule at a cursor, as a
// captured training step does) and sgd_momentum.
#include <cstring>
#include <string>

#include "ff/math.hpp"
#include "op_inputs.hpp"
#include "op_table.hpp"

namespace ff::optable {

namespace {

void adam_case(OpCall& k, size_t n, int64_t step, bool scheduled, uint64_t seed) {
  const float* g = k.input(random_floats(n, seed, 2, -1e-2f, 1e-2f));
  // Same adam_element() on both; only a multiply-add contracted to an FMA on one side differs,
  // ~1 ulp per operation, a handful of operations: 2e-6 relative. The absolute floors are ~1 ulp
  // of each array's typical magnitude (params ~1, m ~1e-3, v ~1e-5).
  float* p =
      k.output("adam params", random_floats(n, seed, 1, -1, 1), Tolerance::close(1e-7, 2e-6));
  float* m =
      k.output("adam m", random_floats(n, seed, 3, -1e-3f, 1e-3f), Tolerance::close(1e-10, 2e-6));
  float* v =
      k.output("adam v", random_floats(n, seed, 4, 0.0f, 1e-4f), Tolerance::close(1e-12, 2e-6));
  AdamSpec spec;
  spec.lr = 1e-3f;
  spec.step = step;
  if (scheduled) {
    // The epoch's schedule in backend memory and a cursor at its step `step - 1`.
    std::vector<AdamScalars> table;
    for (int64_t s = 1; s <= step; ++s) {
      AdamSpec at = spec;
      at.step = s;
      table.push_back(adam_scalars(at));
    }
    const size_t words = table.size() * sizeof(AdamScalars) / sizeof(float);
    std::vector<float> raw(words);
    std::memcpy(raw.data(), table.data(), words * sizeof(float));
    spec.schedule = reinterpret_cast<const AdamScalars*>(k.input(raw));
    StepCursor cursor;
    cursor.step = static_cast<int32_t>(step - 1);
    std::vector<int32_t> cursor_words(sizeof(StepCursor) / sizeof(int32_t));
    std::memcpy(cursor_words.data(), &cursor, sizeof cursor);
    spec.cursor = reinterpret_cast<const StepCursor*>(k.input(cursor_words));
  }
  Backend& b = k.backend();
  k.run = [&b, spec, p, g, m, v, n] { b.adam(spec, p, g, m, v, n); };
  k.flops = 12.0 * n;
  k.bytes = 4.0 * 7 * n;  // read p, g, m, v; write p, m, v
}

void sgd_case(OpCall& k, size_t n, uint64_t seed) {
  const float* g = k.input(random_floats(n, seed, 2, -1e-2f, 1e-2f));
  // Two multiply-adds, possibly contracted differently: ~1 ulp each.
  float* p = k.output("sgd params", random_floats(n, seed, 1, -1, 1), Tolerance::close(1e-7, 1e-6));
  float* velocity = k.output("sgd velocity", random_floats(n, seed, 3, -1e-2f, 1e-2f),
                             Tolerance::close(1e-9, 1e-6));
  Backend& b = k.backend();
  k.run = [&b, p, g, velocity, n] { b.sgd_momentum(0.01f, 0.9f, p, g, velocity, n); };
  k.flops = 4.0 * n;
  k.bytes = 4.0 * 5 * n;
}

// Appended piece by piece: GCC 12 warns falsely (-Wrestrict) on chains of string operator+.
std::string label(size_t n, const char* variant, uint64_t seed) {
  std::string text = "n";
  text += std::to_string(n);
  text += variant;
  text += "_seed";
  text += std::to_string(seed);
  return text;
}

}  // namespace

void add_update_cases(std::vector<OpCase>& cases, bool bench) {
  auto add = [&](const std::string& op, const std::string& l, std::function<void(OpCall&)> f) {
    cases.push_back({op, l, std::move(f)});
  };
  // Benchmarks: the parameters of 2x500 and 4x2000 on MNIST.
  const std::vector<size_t> sizes =
      bench ? std::vector<size_t>{643000, 13576000} : std::vector<size_t>{1, 7, 1001, 65537};
  const std::vector<uint64_t> seeds =
      bench ? std::vector<uint64_t>{1} : std::vector<uint64_t>{1, 2};
  for (size_t n : sizes) {
    for (uint64_t seed : seeds) {
      add("adam", label(n, "_step1", seed), [=](OpCall& k) { adam_case(k, n, 1, false, seed); });
      if (!bench) {
        add("adam", label(n, "_step7", seed), [=](OpCall& k) { adam_case(k, n, 7, false, seed); });
        add("adam", label(n, "_scheduled_step7", seed),
            [=](OpCall& k) { adam_case(k, n, 7, true, seed); });
      }
      add("sgd_momentum", label(n, "", seed), [=](OpCall& k) { sgd_case(k, n, seed); });
    }
  }
}

}  // namespace ff::optable
