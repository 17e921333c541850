// --precision tf32 on the CUDA backend against the fp32 CPU oracle. TF32 keeps 10 mantissa bits
// of each operand (relative rounding ~5e-4 per operand) and accumulates in fp32: over K = 784
// random products the relative Frobenius error lands near 3e-4 (estimated from the ~2^-11
// rounding of each operand), so 2e-3 passes tf32 and fails anything coarser; below 1e-5 would
// mean tf32 was not engaged at all.
#include <cmath>

#include "ff/error.hpp"
#include "test_parity_util.hpp"
#include "test_util.hpp"

namespace ff::parity {
namespace {

class ParityPrecision : public ParityFixture {
 protected:
  void TearDown() override {
    if (gpu_) gpu_->set_gemm_precision(GemmPrecision::kFp32);  // the shared backend's default
  }
};

TEST_F(ParityPrecision, Tf32LinearForwardWithinTf32Rounding) {
  const int rows = 200, in = 784, out = 500;
  const GemmDesc desc = linear_forward_desc(rows, in, out);
  const std::vector<float> x = random_floats(static_cast<size_t>(rows) * in, 3, 1, -1, 1);
  const std::vector<float> w = random_floats(static_cast<size_t>(out) * in, 3, 2, -0.1f, 0.1f);
  const std::vector<float> b = random_floats(out, 3, 3, -0.5f, 0.5f);
  Twin<float> tx(*cpu_, *gpu_, x), tw(*cpu_, *gpu_, w), tb(*cpu_, *gpu_, b);
  Twin<float> y = poisoned(*cpu_, *gpu_, static_cast<size_t>(rows) * out);
  cpu_->gemm(desc, tw.cpu.data(), tx.cpu.data(), y.cpu.data(), Epilogue::kBias, tb.cpu.data());
  gpu_->set_gemm_precision(GemmPrecision::kTf32);
  gpu_->gemm(desc, tw.gpu.data(), tx.gpu.data(), y.gpu.data(), Epilogue::kBias, tb.gpu.data());
  const std::vector<float> got = y.gpu.download(), want = y.cpu.download();
  for (float v : got) ASSERT_TRUE(std::isfinite(v)) << "unwritten or non-finite output";
  const double error = testing_util::relative_frobenius(got, want);
  EXPECT_LT(error, 2e-3);
  EXPECT_GT(error, 1e-5) << "no tf32 rounding visible: was tf32 engaged?";
}

// Needs no GPU: the CPU backend must refuse tf32 rather than silently compute fp32.
TEST(CpuPrecision, RefusesTf32WithAClearError) {
  auto cpu = make_cpu_backend();
  EXPECT_NO_THROW(cpu->set_gemm_precision(GemmPrecision::kFp32));
  try {
    cpu->set_gemm_precision(GemmPrecision::kTf32);
    ADD_FAILURE() << "tf32 accepted by the CPU backend";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cuda"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ff::parity
