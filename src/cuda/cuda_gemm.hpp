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
// does not accept) the plan uses cublasSgemm (same default math: no TF32) followed by the bias_act
// kernel. Lt stays the main path because the fused epilogue saves a full read+write of C.
#pragma once

#include <compare>
#include <cstddef>
#include <map>
#include <memory>

#include "cuda/cuda_raii.hpp"
#include "ff/gemm.hpp"

namespace ff::cuda {

class GemmEngine {
 public:
  // `pool` and `stream` must outlive the engine; all work goes to `stream`.
  GemmEngine(MemPool& pool, cudaStream_t stream);
  ~GemmEngine();
  GemmEngine(const GemmEngine&) = delete;
  GemmEngine& operator=(const GemmEngine&) = delete;

  void run(const GemmDesc& desc, const float* a, const float* b, float* c, Epilogue epilogue,
           const float* bias);

  // tf32: tensor-core GEMMs (CUBLAS_COMPUTE_32F_FAST_TF32; the fallback's handle in
  // CUBLAS_TF32_TENSOR_OP_MATH). Part of every plan's key, so plans of both kinds coexist.
  void set_precision(GemmPrecision precision);
  size_t plan_count() const { return plans_.size(); }
  size_t fallback_plan_count() const;  // plans that run cublasSgemm + bias_act

 private:
  struct Key {
    int trans_a, trans_b, m, n, k, lda, ldb, ldc, epilogue, align_a, align_b, align_c, tf32;
    auto operator<=>(const Key&) const = default;
  };
  struct Plan;
  Plan& plan_for(const Key& key);

  MemPool& pool_;
  cudaStream_t stream_;
  CublasHandle blas_;
  CublasLtHandle lt_;
  DeviceBuffer<unsigned char> workspace_;
  DeviceBuffer<float> aligned_bias_;  // a 16-byte-aligned copy of a misaligned bias vector
  std::map<Key, std::unique_ptr<Plan>> plans_;
  bool tf32_ = false;
};

}  // namespace ff::cuda
