// Micro-benchmarks of each op (Google Benchmark), on the backend --device picks through the
// FF_BENCH_DEVICE environment variable (auto | cuda | cpu; default auto). Shapes are those of the
// default network (4x2000, batch 100: 200 stacked positive+negative rows).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "ff/backend.hpp"
#include "ff/philox.hpp"

namespace {

ff::Backend& backend() {
  static std::unique_ptr<ff::Backend> instance = [] {
    const char* device = std::getenv("FF_BENCH_DEVICE");
    return ff::make_backend(device ? device : "auto");
  }();
  return *instance;
}

ff::Array<float> random_array(size_t n, uint32_t tag, float scale = 1.0f) {
  std::vector<float> host(n);
  for (size_t i = 0; i < n; ++i) {
    const ff::Philox4 w = ff::random_words(1, tag, static_cast<uint32_t>(i / 4), ff::RandomPurpose::kInit);
    host[i] = scale * (ff::uniform_float(w.v[i % 4]) - 0.5f);
  }
  return ff::Array<float>(backend(), host);
}

void finish(benchmark::State& state, double flops, double bytes) {
  backend().synchronize();
  state.counters["FLOP/s"] = benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["bytes/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_LinearForward(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1)),
            out = static_cast<int>(state.range(2));
  auto x = random_array(static_cast<size_t>(rows) * in, 1), w = random_array(static_cast<size_t>(out) * in, 2);
  auto b = random_array(out, 3), y = random_array(static_cast<size_t>(rows) * out, 4);
  const ff::GemmDesc desc = ff::linear_forward_desc(rows, in, out);
  for (auto _ : state) {
    backend().gemm(desc, w.data(), x.data(), y.data(), ff::Epilogue::kBiasRelu, b.data());
    backend().synchronize();
  }
  finish(state, ff::gemm_flops(desc), 4.0 * (x.size() + w.size() + y.size()));
}
BENCHMARK(BM_LinearForward)->Args({200, 784, 2000})->Args({200, 2000, 2000})->Args({2000, 2000, 2000});

void BM_WeightGrad(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0)), in = static_cast<int>(state.range(1)),
            out = static_cast<int>(state.range(2));
  auto x = random_array(static_cast<size_t>(rows) * in, 1), dz = random_array(static_cast<size_t>(rows) * out, 2);
  auto dw = random_array(static_cast<size_t>(out) * in, 3);
  const ff::GemmDesc desc = ff::weight_grad_desc(rows, in, out);
  for (auto _ : state) {
    backend().gemm(desc, x.data(), dz.data(), dw.data());
    backend().synchronize();
  }
  finish(state, ff::gemm_flops(desc), 4.0 * (x.size() + dz.size() + dw.size()));
}
BENCHMARK(BM_WeightGrad)->Args({200, 784, 2000})->Args({200, 2000, 2000});

void BM_FfLossGrad(benchmark::State& state) {
  const int pairs = static_cast<int>(state.range(0)), width = static_cast<int>(state.range(1));
  const size_t n = 2 * static_cast<size_t>(pairs) * width;
  auto h = random_array(n, 1, 2.0f), dz = random_array(n, 2), norm = random_array(n, 3);
  auto loss = random_array(pairs, 4);
  ff::FfLossSpec spec;
  spec.pairs = pairs;
  spec.width = width;
  spec.theta = static_cast<float>(width);
  for (auto _ : state) {
    backend().ff_loss_grad(spec, h.data(), dz.data(), norm.data(), width, loss.data());
    backend().synchronize();
  }
  finish(state, 6.0 * n, 4.0 * 3 * n);
}
BENCHMARK(BM_FfLossGrad)->Args({100, 2000})->Args({1000, 2000});

void BM_RmsNorm(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0)), cols = static_cast<int>(state.range(1));
  const size_t n = static_cast<size_t>(rows) * cols;
  auto x = random_array(n, 1), y = random_array(n, 2);
  for (auto _ : state) {
    backend().rms_norm(x.data(), rows, cols, y.data(), cols);
    backend().synchronize();
  }
  finish(state, 3.0 * n, 8.0 * n);
}
BENCHMARK(BM_RmsNorm)->Args({200, 2000})->Args({2000, 2000});

void BM_Adam(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  auto p = random_array(n, 1), g = random_array(n, 2), m = random_array(n, 3), v = random_array(n, 4, 0.0f);
  ff::AdamSpec spec;
  for (auto _ : state) {
    backend().adam(spec, p.data(), g.data(), m.data(), v.data(), n);
    ++spec.step;
    backend().synchronize();
  }
  finish(state, 12.0 * n, 4.0 * 7 * n);
}
BENCHMARK(BM_Adam)->Arg(643000)->Arg(13584008);  // 2x500 and 4x2000 on MNIST

}  // namespace

BENCHMARK_MAIN();
