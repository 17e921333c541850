// Micro-benchmarks of every Backend op (Google Benchmark), one per bench case of the op table
// (tests/op_table/): the shapes of the default network (4x2000 on MNIST, batch 100: 200 stacked
// positive+negative rows; slow evaluation over 1000 images x 10 labels). Each call is timed with
// the backend's own marks (CUDA events on the GPU, the host clock on the CPU), and reported with
// the case's FLOP and byte rates. The backend comes from FF_BENCH_DEVICE (auto | cuda | cpu;
// default auto).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>

#include "ff/backend.hpp"
#include "op_table/op_table.hpp"

namespace {

ff::Backend& backend() {
  static std::unique_ptr<ff::Backend> instance = [] {
    const char* device = std::getenv("FF_BENCH_DEVICE");
    return ff::make_backend(device ? device : "auto");
  }();
  return *instance;
}

void run_case(benchmark::State& state, const ff::optable::OpCase& c) {
  ff::Backend& b = backend();
  ff::optable::OpCall call(b, /*for_parity=*/false);
  c.prepare(call);
  call.run();  // warm-up: plans, caches
  b.synchronize();
  for (auto _ : state) {
    const std::unique_ptr<ff::TimeMark> start = b.mark_time();
    call.run();
    const std::unique_ptr<ff::TimeMark> end = b.mark_time();
    state.SetIterationTime(b.seconds_between(*start, *end));
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(call.flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] =
      benchmark::Counter(call.bytes, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (const ff::optable::OpCase& c : ff::optable::bench_cases()) {
    benchmark::RegisterBenchmark(("BM_" + c.name()).c_str(), run_case, c)->UseManualTime();
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
