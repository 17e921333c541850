// The CPU backend's GEMMs, on oneDNN: the library picks its kernels at run time from the CPU's
// instruction sets (AVX2, AVX-512, AVX512_BF16, AMX), whatever the vendor and however new the
// model, and honours ONEDNN_MAX_CPU_ISA when the user sets it. bench/results/cpu-*/
// gemm-libraries.md has the measurement behind the choice.
//
// fp32: dnnl_sgemm. bf16 (--precision bf16): both operands rounded to bf16 with the engine's own
// rounding (ff/math.hpp, the CUDA backend's too), products accumulated in fp32. Where the CPU has
// AVX512_BF16, oneDNN's matmul multiplies the bf16 operands natively; elsewhere, or when asked
// (CpuBf16::kEmulated, the tests' oracle), an fp32 GEMM of the rounded operands computes the same
// products with another accumulation order (docs/architecture.md, "bf16 on the CPU").
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "cpu_bf16_mirrors.hpp"
#include "ff/gemm.hpp"

namespace ff {

class CpuGemm {
 public:
  explicit CpuGemm(CpuBf16 bf16_mode);
  ~CpuGemm();
  CpuGemm(const CpuGemm&) = delete;
  CpuGemm& operator=(const CpuGemm&) = delete;

  // "oneDNN 2.6, avx512_core_bf16 kernels": the library and the instruction set it dispatches to.
  std::string describe() const;
  // Whether bf16 GEMMs run on bf16 hardware here.
  bool native_bf16() const { return native_bf16_; }
  void set_bf16(bool bf16);
  // C = alpha op(A) op(B) + beta C in the column-major terms of GemmDesc (ff/gemm.hpp).
  void run(const GemmDesc& desc, const float* a, const float* b, float* c);

  // The bf16 copies of parameters that native bf16 GEMMs read instead of converting their
  // operands. The optimiser fills them through mirrors_to_update(): null unless GEMMs run natively
  // in bf16 now (and mirrors are wanted), and then it must drop the range (written()) instead.
  Bf16Mirrors& mirrors() { return mirrors_; }
  const Bf16Mirrors& mirrors() const { return mirrors_; }
  Bf16Mirrors* mirrors_to_update() {
    return bf16_ && native_ != nullptr && wants_mirrors_ ? &mirrors_ : nullptr;
  }

 private:
  class NativeBf16;  // oneDNN matmul primitives with bf16 operands, one per GEMM shape

  void run_fp32(const GemmDesc& desc, const float* a, const float* b, float* c);

  const bool wants_native_;   // CpuBf16::kNativeWhereAvailable or kNativeWithoutMirrors
  const bool wants_mirrors_;  // CpuBf16::kNativeWhereAvailable
  bool native_bf16_ = false;
  bool bf16_ = false;
  std::unique_ptr<NativeBf16> native_;
  std::vector<float> rounded_a_, rounded_b_;  // emulated bf16: rounded copies (grow-only scratch)
  Bf16Mirrors mirrors_;
};

}  // namespace ff
