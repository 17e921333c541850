// The CUDA GEMM of ff::Backend::gemm: a column-major GemmDesc (ff/gemm.hpp) executed by cuBLASLt
// with the bias / bias+ReLU epilogue fused (CUBLASLT_EPILOGUE_BIAS / RELU_BIAS), fp32 compute
// (CUBLAS_COMPUTE_32F: no TF32), so one kernel writes relu(W x + b) and C is never re-read.
//
// Plans (matmul descriptor, three layouts, chosen algorithm) are cached per shape, transpose,
// epilogue and pointer alignment: the heuristic runs once per distinct GEMM, never in the hot loop.
// Alignment is part of the key because parameters live in one buffer (ff/network.hpp), so a
// weight matrix may start at any float boundary; the heuristic is told the real alignment and only
// returns algorithms that can read it.
//
// Fallback: where cuBLASLt returns no algorithm (an exotic shape/alignment, or k == 0 which Lt
// does not accept) the plan uses cublasSgemm / cublasGemmEx (same arithmetic) followed by the
// bias_act kernel. Lt stays the main path because the fused epilogue saves a full read+write of C.
// A bias that is not 16-byte aligned (odd layer widths put biases at any float boundary of the
// parameter buffer) also takes the unfused route, Lt GEMM then bias_act: no shared scratch copy,
// so concurrent lanes and captured graphs stay race-free.
//
// Lanes (ff::Backend, "concurrency"): every lane has its own stream, workspace and bf16 scratch,
// so GEMMs on different lanes may run concurrently. bf16 (GemmPrecision::kBf16): the fp32 operands
// are converted into the lane's scratch by the convert_to_bf16 kernel (the CPU's rounding), then Lt
// multiplies bf16 x bf16 with fp32 accumulation into fp32 C. The scratch grows on first use; it
// must not need to grow while a graph is being captured (run one step uncaptured first: the
// trainer does), which is checked; an outgrown buffer is kept until the engine dies, since a
// captured graph may still point at it.
#pragma once

#include <compare>
#include <cstddef>
#include <map>
#include <memory>
#include <vector>

#include "cuda_raii.hpp"
#include "ff/gemm.hpp"

namespace ff::cuda {

class GemmEngine {
 public:
  // `pool` and the streams must outlive the engine; lane i's GEMMs go to lane_streams[i].
  GemmEngine(MemPool& pool, const std::vector<cudaStream_t>& lane_streams);
  ~GemmEngine();
  GemmEngine(const GemmEngine&) = delete;
  GemmEngine& operator=(const GemmEngine&) = delete;

  void run(const GemmDesc& desc, const float* a, const float* b, float* c, Epilogue epilogue,
           const float* bias, int lane);

  // tf32: tensor-core GEMMs (CUBLAS_COMPUTE_32F_FAST_TF32; the fallback's handle in
  // CUBLAS_TF32_TENSOR_OP_MATH). bf16: see above. Part of every plan's key, so plans coexist.
  void set_precision(GemmPrecision precision);

 private:
  struct Key {
    int trans_a, trans_b, m, n, k, lda, ldb, ldc, epilogue, align_a, align_b, align_c, precision;
    auto operator<=>(const Key&) const = default;
  };
  struct Plan;
  struct Lane {
    cudaStream_t stream = nullptr;
    DeviceBuffer<unsigned char> workspace;
    DeviceBuffer<uint16_t> bf16_a, bf16_b;  // bf16 copies of the operands (grow-only)
  };
  Plan& plan_for(const Key& key);
  // The span of `x` as bf16 in `scratch` (grown on `lane`'s stream if needed).
  const uint16_t* to_bf16(const float* x, size_t span, DeviceBuffer<uint16_t>& scratch,
                          const Lane& lane);

  MemPool& pool_;
  CublasHandle blas_;
  CublasLtHandle lt_;
  std::vector<Lane> lanes_;
  std::vector<DeviceBuffer<uint16_t>> retired_scratch_;  // outgrown bf16 scratch (see to_bf16)
  std::map<Key, std::unique_ptr<Plan>> plans_;
  GemmPrecision precision_ = GemmPrecision::kFp32;
};

}  // namespace ff::cuda
