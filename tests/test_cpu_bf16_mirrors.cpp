// The bf16 copies of the parameters that the CPU optimiser writes for native bf16 GEMMs
// (src/cpu/cpu_bf16_mirrors.hpp): the bookkeeping of which memory they mirror, and that using
// them changes no bit of training, and that every other write to mirrored memory drops them.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cpu/cpu_backend.hpp"
#include "cpu/cpu_bf16_mirrors.hpp"
#include "ff/math.hpp"
#include "ff/trainer.hpp"
#include "test_util.hpp"

namespace ff {
namespace {

TEST(Bf16Mirrors, AMirrorServesTheRangesInsideItAndAnOverlappingWriteDropsIt) {
  std::vector<float> memory(100);
  Bf16Mirrors mirrors;
  uint16_t* bits = mirrors.for_update(memory.data() + 10, 50);  // floats [10, 60)
  for (int i = 0; i < 50; ++i) bits[i] = static_cast<uint16_t>(i);
  EXPECT_EQ(mirrors.for_update(memory.data() + 10, 50), bits);  // the same range: the same copy
  EXPECT_EQ(mirrors.find(memory.data() + 10, 50), bits);
  ASSERT_NE(mirrors.find(memory.data() + 20, 5), nullptr);
  EXPECT_EQ(*mirrors.find(memory.data() + 20, 5), 10);
  EXPECT_EQ(mirrors.find(memory.data() + 5, 10), nullptr);   // starts before it
  EXPECT_EQ(mirrors.find(memory.data() + 55, 10), nullptr);  // ends after it
  mirrors.written(memory.data(), 10 * sizeof(float));        // [0, 10): touches nothing mirrored
  mirrors.written(memory.data() + 60, 40 * sizeof(float));   // [60, 100): neither
  EXPECT_EQ(mirrors.count(), 1u);
  mirrors.written(reinterpret_cast<char*>(memory.data() + 59) + 3, 1);  // the last byte of float 59
  EXPECT_EQ(mirrors.count(), 0u);
  EXPECT_EQ(mirrors.find(memory.data() + 20, 5), nullptr);
}

TEST(Bf16Mirrors, ANewRangeOverlappingAnOldOneReplacesIt) {
  std::vector<float> memory(100);
  Bf16Mirrors mirrors;
  mirrors.for_update(memory.data(), 100);
  mirrors.for_update(memory.data() + 50, 10);  // a layer updated alone after a whole update
  EXPECT_EQ(mirrors.count(), 1u);
  EXPECT_EQ(mirrors.find(memory.data(), 10), nullptr);
  EXPECT_NE(mirrors.find(memory.data() + 52, 3), nullptr);
}

// A CPU backend with native bf16 GEMMs, or null (and the test skips) where the CPU has none.
std::unique_ptr<CpuBackend> native_bf16_backend(CpuBf16 mode) {
  auto backend = std::make_unique<CpuBackend>(mode);
  const std::string kernels = backend->name();
  if (kernels.find("bf16") == std::string::npos && kernels.find("amx") == std::string::npos) {
    return nullptr;
  }
  backend->set_gemm_precision(GemmPrecision::kBf16);
  return backend;
}

#define SKIP_WITHOUT_NATIVE_BF16(backend)                                          \
  if (!(backend)) {                                                                \
    GTEST_SKIP() << "this CPU has no bf16 GEMM kernels: no mirrors are kept here"; \
  }

TEST(Bf16Mirrors, TrainingReadsThemAndGetsTheBitsOfConvertingAtEveryGemm) {
  auto mirrored = native_bf16_backend(CpuBf16::kNativeWhereAvailable);
  SKIP_WITHOUT_NATIVE_BF16(mirrored);
  auto converting = native_bf16_backend(CpuBf16::kNativeWithoutMirrors);
  const Dataset data = testing_util::synthetic_images(4, 96);
  for (const Algo algo : {Algo::kFf, Algo::kBpCe}) {
    TrainConfig config;
    config.algo = algo;
    config.layers_spec = "3x40";
    config.batch = 8;
    config.seed = 5;
    config.precision = GemmPrecision::kBf16;
    Trainer with(*mirrored, config, data), without(*converting, config, data);
    with.steps().begin_epoch(0);
    without.steps().begin_epoch(0);
    for (int s = 0; s < 6; ++s) {
      with.steps().train_step(0, s);
      without.steps().train_step(0, s);
    }
    SCOPED_TRACE(algo == Algo::kFf ? "ff" : "bp-ce");
    // The optimiser made copies (one per layer for ff, one of all for backprop, and the head's)
    // and the GEMMs read them; the other backend kept none.
    EXPECT_GE(mirrored->bf16_mirrors().count(), 1u);
    EXPECT_EQ(converting->bf16_mirrors().count(), 0u);
    EXPECT_EQ(with.model().network().params().download(),
              without.model().network().params().download());
    EXPECT_NE(with.model().network().params().download(),
              Trainer(*converting, config, data).model().network().params().download());
  }
}

// One layer's weights W [m x k] (all 0.5), their gradient (all 0.25) and Adam moments, and an
// input of n rows of k ones: every output of the layer's forward product is k times W's (equal)
// weights' bf16 rounding, exact in fp32 (k and a bf16 value need at most 14 bits).
struct Layer {
  Layer(CpuBackend& on, int m, int inputs, int n)
      : backend(on),
        k(inputs),
        forward(linear_forward_desc(n, k, m)),
        params(on, std::vector<float>(static_cast<size_t>(m) * k, 0.5f)),
        grads(on, std::vector<float>(params.size(), 0.25f)),
        moments(on, std::vector<float>(2 * params.size(), 0.0f)),
        other(on, std::vector<float>(params.size(), 3.0f)),
        x(on, std::vector<float>(static_cast<size_t>(k) * n, 1.0f)),
        y(on, static_cast<size_t>(m) * n) {
    adam.lr = 0.01f;
    adam.step = 1;
  }
  void update() {
    backend.adam(adam, params.data(), grads.data(), moments.data(), moments.data() + params.size(),
                 params.size());
  }
  std::vector<float> product() {
    backend.gemm(forward, params.data(), x.data(), y.data(), Epilogue::kNone, nullptr);
    return y.download();
  }
  // What the product must be when the GEMM reads weights worth `value` (all equal).
  void expect_product_of(float value) {
    for (float v : product()) EXPECT_EQ(v, static_cast<float>(k) * round_to_bf16(value));
  }
  void expect_product_of_current_weights() {
    const std::vector<float> w = params.download();
    for (float v : w) ASSERT_EQ(v, w[0]);
    expect_product_of(w[0]);
  }

  CpuBackend& backend;
  const int k;
  const GemmDesc forward;
  AdamSpec adam;
  Array<float> params, grads, moments, other, x, y;
};

TEST(Bf16Mirrors, AGemmReadsTheCopyNotTheFp32Weights) {
  // Proof that the copy is what the GEMM reads: after an update, the weights are changed behind
  // the backend's back (a raw host write, which the engine never does: every write goes through
  // an op) and the product still shows the updated weights, not the new memory.
  auto backend = native_bf16_backend(CpuBf16::kNativeWhereAvailable);
  SKIP_WITHOUT_NATIVE_BF16(backend);
  Layer layer(*backend, 16, 32, 4);
  layer.update();
  const float updated = layer.params.download()[0];
  for (size_t i = 0; i < layer.params.size(); ++i) layer.params.data()[i] = 3.0f;  // no written()
  layer.expect_product_of(updated);
}

TEST(Bf16Mirrors, EveryOtherWriteToTheParametersDropsTheirCopy) {
  auto backend = native_bf16_backend(CpuBf16::kNativeWhereAvailable);
  SKIP_WITHOUT_NATIVE_BF16(backend);
  Layer layer(*backend, 24, 40, 6);
  Array<float>& params = layer.params;
  Array<float>& grads = layer.grads;
  Array<float>& other = layer.other;
  const std::vector<std::pair<std::string, std::function<void()>>> writers = {
      {"upload", [&] { params.upload(std::vector<float>(params.size(), 1.75f)); }},
      {"fill", [&] { backend->fill(params.data(), params.size(), 1.75f); }},
      {"copy",
       [&] {
         backend->fill(other.data(), other.size(), 1.75f);
         backend->copy(params.data(), other.data(), params.size() * sizeof(float));
       }},
      {"sgd",
       [&] {
         backend->sgd_momentum(0.5f, 0.0f, params.data(), grads.data(), other.data(),
                               params.size());
       }},
      {"adam with fp32 GEMMs",
       [&] {
         backend->set_gemm_precision(GemmPrecision::kFp32);
         layer.update();
         backend->set_gemm_precision(GemmPrecision::kBf16);
       }},
  };
  for (const auto& [name, write] : writers) {
    SCOPED_TRACE(name);
    backend->fill(params.data(), params.size(), 0.5f);
    backend->fill(grads.data(), grads.size(), 0.25f);
    layer.update();
    ASSERT_EQ(backend->bf16_mirrors().count(), 1u);
    ASSERT_NE(backend->bf16_mirrors().find(params.data(), params.size()), nullptr);
    write();
    EXPECT_EQ(backend->bf16_mirrors().find(params.data(), params.size()), nullptr);
    layer.expect_product_of_current_weights();
  }
  // A mirror reads as what the optimiser wrote: after a plain update the product uses it.
  backend->fill(params.data(), params.size(), 0.5f);
  backend->fill(grads.data(), grads.size(), 0.25f);
  layer.update();
  ASSERT_EQ(backend->bf16_mirrors().count(), 1u);
  layer.expect_product_of_current_weights();
  // Freed memory keeps no copy (a later allocation may reuse the address).
  { Array<float> gone = std::move(params); }
  EXPECT_EQ(backend->bf16_mirrors().count(), 0u);
}

}  // namespace
}  // namespace ff
