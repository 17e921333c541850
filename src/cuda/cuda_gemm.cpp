// cuBLASLt GEMM with fused bias/ReLU epilogue and a per-shape plan cache (see cuda_gemm.hpp).
#include "cuda/cuda_gemm.hpp"

#include <cstdint>
#include <type_traits>

#include "ff/error.hpp"
#include "launch.cuh"

namespace ff::cuda {

namespace {

// 32 MiB: what NVIDIA recommends for cuBLASLt on Hopper (less suffices on Ampere). Allocated once.
constexpr size_t kWorkspaceBytes = size_t{32} << 20;
// The bias pointer cuBLASLt sees is always 16-byte aligned (a misaligned one is copied first):
// Lt has no alignment preference for the bias, its heuristic infers the alignment from the
// pointer's value, and other projects saw the fused epilogue fail on misaligned biases (A100).
constexpr int kBiasAlignment = 16;
// What the heuristic is shown as the bias pointer: an address aligned to exactly 16 bytes, so the
// chosen algorithm works for every bias the plan will be given. cublasLtMatmulAlgoGetHeuristic
// only reads the value ("routines that don't dereference this pointer ... depend on its value to
// determine expected pointer alignment", cublasLt.h).
const void* const kBiasAlignmentProbe = reinterpret_cast<const void*>(uintptr_t{kBiasAlignment});

struct DescDeleter {
  void operator()(cublasLtMatmulDesc_t p) const { cublasLtMatmulDescDestroy(p); }
};
struct LayoutDeleter {
  void operator()(cublasLtMatrixLayout_t p) const { cublasLtMatrixLayoutDestroy(p); }
};
struct PreferenceDeleter {
  void operator()(cublasLtMatmulPreference_t p) const { cublasLtMatmulPreferenceDestroy(p); }
};
using DescPtr = std::unique_ptr<std::remove_pointer_t<cublasLtMatmulDesc_t>, DescDeleter>;
using LayoutPtr = std::unique_ptr<std::remove_pointer_t<cublasLtMatrixLayout_t>, LayoutDeleter>;
using PreferencePtr =
    std::unique_ptr<std::remove_pointer_t<cublasLtMatmulPreference_t>, PreferenceDeleter>;

// Largest power of two (<= 16) dividing the address: what the heuristic may assume.
int alignment_of(const void* ptr) {
  const auto address = reinterpret_cast<uintptr_t>(ptr);
  int alignment = 16;
  while (alignment > 1 && address % static_cast<uintptr_t>(alignment) != 0) alignment /= 2;
  return alignment;
}

cublasOperation_t to_op(int trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

LayoutPtr make_layout(int rows, int cols, int ld) {
  cublasLtMatrixLayout_t layout = nullptr;
  FF_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout, CUDA_R_32F, static_cast<uint64_t>(rows),
                                             static_cast<uint64_t>(cols), ld));
  return LayoutPtr(layout);
}

template <class T>
void set_desc(cublasLtMatmulDesc_t desc, cublasLtMatmulDescAttributes_t attribute, const T& value) {
  FF_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(desc, attribute, &value, sizeof value));
}
template <class T>
void set_preference(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attribute,
                    const T& value) {
  FF_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attribute, &value, sizeof value));
}

}  // namespace

struct GemmEngine::Plan {
  bool use_lt = false;
  DescPtr desc;
  LayoutPtr a, b, c;  // c also describes D: the product is written in place
  cublasLtMatmulAlgo_t algo{};
};

GemmEngine::GemmEngine(MemPool& pool, cudaStream_t stream)
    : pool_(pool), stream_(stream), blas_(stream), workspace_(pool, kWorkspaceBytes, stream) {
  // Lt initialises what it uses; zeroing once keeps compute-sanitizer's initcheck quiet about
  // library kernels that read workspace words they do not depend on.
  FF_CUDA_CHECK(cudaMemsetAsync(workspace_.data(), 0, workspace_.bytes(), stream));
}

GemmEngine::~GemmEngine() = default;

void GemmEngine::set_precision(GemmPrecision precision) {
  tf32_ = precision == GemmPrecision::kTf32;
  FF_CUBLAS_CHECK(cublasSetMathMode(blas_.get(),
                                    tf32_ ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}

size_t GemmEngine::fallback_plan_count() const {
  size_t count = 0;
  for (const auto& [key, plan] : plans_) count += plan->use_lt ? 0 : 1;
  return count;
}

GemmEngine::Plan& GemmEngine::plan_for(const Key& key) {
  auto found = plans_.find(key);
  if (found != plans_.end()) return *found->second;
  auto plan = std::make_unique<Plan>();
  if (key.k > 0) {
    cublasLtMatmulDesc_t desc = nullptr;
    FF_CUBLAS_CHECK(cublasLtMatmulDescCreate(
        &desc, key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F, CUDA_R_32F));
    plan->desc = DescPtr(desc);
    set_desc(desc, CUBLASLT_MATMUL_DESC_TRANSA, to_op(key.trans_a));
    set_desc(desc, CUBLASLT_MATMUL_DESC_TRANSB, to_op(key.trans_b));
    const auto epilogue = static_cast<Epilogue>(key.epilogue);
    const cublasLtEpilogue_t lt_epilogue =
        epilogue == Epilogue::kBiasRelu ? CUBLASLT_EPILOGUE_RELU_BIAS
        : epilogue == Epilogue::kBias   ? CUBLASLT_EPILOGUE_BIAS
                                        : CUBLASLT_EPILOGUE_DEFAULT;
    set_desc(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, lt_epilogue);
    if (epilogue != Epilogue::kNone) {
      set_desc(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, kBiasAlignmentProbe);
    }
    // op(A) is m x k, op(B) is k x n: the stored matrices are their transposes when trans is set.
    plan->a = key.trans_a ? make_layout(key.k, key.m, key.lda) : make_layout(key.m, key.k, key.lda);
    plan->b = key.trans_b ? make_layout(key.n, key.k, key.ldb) : make_layout(key.k, key.n, key.ldb);
    plan->c = make_layout(key.m, key.n, key.ldc);

    cublasLtMatmulPreference_t raw_pref = nullptr;
    FF_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw_pref));
    const PreferencePtr pref(raw_pref);
    set_preference(raw_pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, uint64_t{kWorkspaceBytes});
    set_preference(raw_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
                   static_cast<uint32_t>(key.align_a));
    set_preference(raw_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                   static_cast<uint32_t>(key.align_b));
    set_preference(raw_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                   static_cast<uint32_t>(key.align_c));
    set_preference(raw_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                   static_cast<uint32_t>(key.align_c));

    cublasLtMatmulHeuristicResult_t result{};
    int returned = 0;
    const cublasStatus_t status =
        cublasLtMatmulAlgoGetHeuristic(lt_.get(), desc, plan->a.get(), plan->b.get(), plan->c.get(),
                                       plan->c.get(), raw_pref, 1, &result, &returned);
    // NOT_SUPPORTED means "no algorithm for this problem": the fallback's case, not an error.
    if (status != CUBLAS_STATUS_SUCCESS && status != CUBLAS_STATUS_NOT_SUPPORTED) {
      throw_cublas_error(status, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
    }
    plan->use_lt =
        status == CUBLAS_STATUS_SUCCESS && returned > 0 && result.state == CUBLAS_STATUS_SUCCESS;
    if (plan->use_lt) plan->algo = result.algo;
  }
  return *plans_.emplace(key, std::move(plan)).first->second;
}

void GemmEngine::run(const GemmDesc& d, const float* a, const float* b, float* c, Epilogue epilogue,
                     const float* bias) {
  if (d.m <= 0 || d.n <= 0) return;
  const bool has_bias = epilogue != Epilogue::kNone;
  if (has_bias && bias == nullptr) {
    throw Error("internal error: gemm with a bias epilogue and no bias");
  }
  Key key{};
  key.trans_a = d.trans_a == Trans::kT;
  key.trans_b = d.trans_b == Trans::kT;
  key.m = d.m, key.n = d.n, key.k = d.k;
  key.lda = d.lda, key.ldb = d.ldb, key.ldc = d.ldc;
  key.epilogue = static_cast<int>(epilogue);
  key.align_a = alignment_of(a), key.align_b = alignment_of(b), key.align_c = alignment_of(c);
  key.tf32 = tf32_ ? 1 : 0;
  Plan& plan = plan_for(key);

  if (!plan.use_lt) {
    FF_CUBLAS_CHECK(cublasSgemm(blas_.get(), to_op(key.trans_a), to_op(key.trans_b), d.m, d.n, d.k,
                                &d.alpha, a, d.lda, b, d.ldb, &d.beta, c, d.ldc));
    if (has_bias) {
      kernels::launch_bias_act(c, d.m, d.n, d.ldc, bias, epilogue == Epilogue::kBiasRelu, stream_);
    }
    return;
  }

  const float* lt_bias = bias;
  if (has_bias && alignment_of(bias) < kBiasAlignment) {
    // Biases sit right after their weight matrix in the parameter buffer, so they are often only
    // 4-byte aligned; a copy of m floats is far cheaper than giving up the fused epilogue.
    if (aligned_bias_.size() < static_cast<size_t>(d.m)) {
      aligned_bias_ = DeviceBuffer<float>(pool_, static_cast<size_t>(d.m), stream_);
    }
    FF_CUDA_CHECK(cudaMemcpyAsync(aligned_bias_.data(), bias, sizeof(float) * d.m,
                                  cudaMemcpyDeviceToDevice, stream_));
    lt_bias = aligned_bias_.data();
  }
  // The descriptor is read when the call is enqueued, so updating the pointer per call is safe.
  if (has_bias) set_desc(plan.desc.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, lt_bias);
  FF_CUBLAS_CHECK(cublasLtMatmul(lt_.get(), plan.desc.get(), &d.alpha, a, plan.a.get(), b,
                                 plan.b.get(), &d.beta, c, plan.c.get(), c, plan.c.get(),
                                 &plan.algo, workspace_.data(), workspace_.bytes(), stream_));
}

}  // namespace ff::cuda
