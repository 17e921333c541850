// GPU parity over the op table (tests/op_table/): every case runs on the CPU backend (the oracle)
// and on CUDA from the same inputs, and every output the case names is compared under the case's
// tolerance; a case marked deterministic must also give the same bits when run again. Without a
// GPU the parity tests skip with the reason. The CPU-side tests below run everywhere: every case
// runs and writes, and every op of ff::Backend has parity cases and benchmark entries.
#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "op_table/op_table.hpp"
#include "test_parity_util.hpp"
#include "test_paths.hpp"

namespace ff::optable {

void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name(); }

namespace {

using parity::close_to;
using parity::equal_to;

::testing::AssertionResult matches(const OpResult& gpu, const OpResult& cpu) {
  if (!cpu.integers.empty() || !gpu.integers.empty())
    return equal_to(cpu.name, gpu.integers, cpu.integers);
  if (cpu.tolerance.exact) return equal_to(cpu.name, gpu.floats, cpu.floats);
  const Tolerance& t = cpu.tolerance;
  return close_to(cpu.name, gpu.floats, cpu.floats, [&](size_t i) {
    const double size =
        t.scale.empty() ? std::fabs(static_cast<double>(cpu.floats[i])) : t.scale[i];
    return t.atol + t.rtol * size;
  });
}

bool same_bits(const OpResult& a, const OpResult& b) {
  return a.integers == b.integers && a.floats.size() == b.floats.size() &&
         std::memcmp(a.floats.data(), b.floats.data(), a.floats.size() * sizeof(float)) == 0;
}

std::string test_name(const ::testing::TestParamInfo<OpCase>& info) { return info.param.name(); }

using ParityOpTable = parity::ParityParamFixture<OpCase>;

TEST_P(ParityOpTable, MatchesCpu) {
  const OpCase& c = GetParam();
  OpCall on_cpu(*cpu_, true), on_gpu(*gpu_, true);
  c.prepare(on_cpu);
  c.prepare(on_gpu);
  on_cpu.run();
  on_gpu.run();
  const std::vector<OpResult> want = on_cpu.results(), got = on_gpu.results();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_TRUE(matches(got[i], want[i]));
  if (on_gpu.deterministic) {
    OpCall again(*gpu_, true);
    c.prepare(again);
    again.run();
    const std::vector<OpResult> second = again.results();
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_TRUE(same_bits(second[i], got[i])) << got[i].name << ": not reproducible";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(ParityTable, ParityOpTable, ::testing::ValuesIn(parity_cases()),
                         test_name);

// Whether the call changed at least one of its outputs (integer outputs start from sentinels).
bool changed_an_output(const std::vector<OpResult>& results) {
  for (const OpResult& r : results) {
    if (!r.integers.empty()) return true;
    for (size_t e = 0; e < r.floats.size(); ++e) {
      const float before = r.initial[e], after = r.floats[e];
      if (std::isnan(before) != std::isnan(after) || (!std::isnan(before) && before != after)) {
        return true;
      }
    }
  }
  return false;
}

// Runs everywhere: each parity case prepares and runs on the CPU, compares something, changes an
// output, and gives the same bits twice; it states its byte count.
TEST(OpTable, EveryParityCaseRunsOnTheCpuWritesAndRepeats) {
  const std::unique_ptr<Backend> cpu = make_cpu_backend();
  for (const OpCase& c : parity_cases()) {
    OpCall first(*cpu, true), second(*cpu, true);
    c.prepare(first);
    c.prepare(second);
    ASSERT_TRUE(first.run) << c.name() << ": no call";
    first.run();
    second.run();
    EXPECT_GT(first.bytes, 0.0) << c.name();
    EXPECT_GE(first.flops, 0.0) << c.name();
    const std::vector<OpResult> a = first.results(), b = second.results();
    ASSERT_FALSE(a.empty()) << c.name() << ": compares nothing";
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_TRUE(same_bits(a[i], b[i])) << c.name() << " " << a[i].name;
    }
    EXPECT_TRUE(changed_an_output(a) || first.may_leave_outputs)
        << c.name() << ": no output changed";
  }
}

// The benchmark cases run as ffcuda's micro-benchmarks do (no parity data), once each.
TEST(OpTable, EveryBenchCaseRunsOnTheCpuAndWrites) {
  const std::unique_ptr<Backend> cpu = make_cpu_backend();
  for (const OpCase& c : bench_cases()) {
    OpCall call(*cpu, false);
    c.prepare(call);
    ASSERT_TRUE(call.run) << c.name() << ": no call";
    call.run();
    EXPECT_GT(call.bytes, 0.0) << c.name();
    EXPECT_TRUE(changed_an_output(call.results()) || call.may_leave_outputs) << c.name();
  }
}

// The methods declared in include/ff/backend.hpp's Backend class.
std::set<std::string> backend_methods() {
  std::ifstream file(testing_util::source_dir() + "/include/ff/backend.hpp");
  std::stringstream text;
  text << file.rdbuf();
  const std::string source = text.str();
  const size_t begin = source.find("class Backend {");
  const size_t end = source.find("\n};", begin);
  const std::string body = source.substr(begin, end - begin);
  std::set<std::string> names;
  const std::regex method(R"(virtual\s+[^;{(]*?\b([a-z_][a-z0-9_]*)\s*\()");
  for (auto it = std::sregex_iterator(body.begin(), body.end(), method);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

TEST(OpTable, EveryBackendOpHasParityCasesAndABenchmark) {
  const std::set<std::string> methods = backend_methods();
  ASSERT_GT(methods.size(), 20u) << "backend.hpp not read from " << testing_util::source_dir();
  std::set<std::string> parity, bench;
  for (const OpCase& c : parity_cases()) parity.insert(c.op);
  for (const OpCase& c : bench_cases()) bench.insert(c.op);
  const std::vector<std::string>& infrastructure = non_op_methods();
  for (const std::string& name : methods) {
    if (std::find(infrastructure.begin(), infrastructure.end(), name) != infrastructure.end())
      continue;
    EXPECT_TRUE(parity.count(name))
        << "Backend::" << name << " has no parity case in tests/op_table/";
    EXPECT_TRUE(bench.count(name))
        << "Backend::" << name << " has no benchmark case in tests/op_table/";
  }
  for (const std::string& op : parity)
    EXPECT_TRUE(methods.count(op)) << op << " is not a Backend op";
  for (const std::string& name : infrastructure) EXPECT_TRUE(methods.count(name)) << name;
}

}  // namespace
}  // namespace ff::optable
