// cuBLASLt GEMM with fused bias/ReLU epilogue and a per-shape plan cache (see cuda_gemm.hpp).
#include "cuda_gemm.hpp"

#include <cstdint>

#include "ff/error.hpp"
#include "launch.cuh"

namespace ff::cuda {

namespace {

// 32 MiB: what NVIDIA recommends for cuBLASLt on Hopper (less suffices on Ampere). Allocated once.
constexpr size_t kWorkspaceBytes = size_t{32} << 20;
// Lt is only given 16-byte-aligned biases (others take the unfused route, see cuda_gemm.hpp): Lt
// has no alignment preference for the bias, its heuristic infers the alignment from the pointer's
// value, and other projects saw the fused epilogue fail on misaligned biases (A100).
constexpr int kBiasAlignment = 16;
// What the heuristic is shown as the bias pointer: an address aligned to exactly 16 bytes, so the
// chosen algorithm works for every bias the plan will be given. cublasLtMatmulAlgoGetHeuristic
// only reads the value ("routines that don't dereference this pointer ... depend on its value to
// determine expected pointer alignment", cublasLt.h).
const void* const kBiasAlignmentProbe = reinterpret_cast<const void*>(uintptr_t{kBiasAlignment});

// Largest power of two (<= 16) dividing the address: what the heuristic may assume.
int alignment_of(const void* ptr) {
  const auto address = reinterpret_cast<uintptr_t>(ptr);
  int alignment = 16;
  while (alignment > 1 && address % static_cast<uintptr_t>(alignment) != 0) alignment /= 2;
  return alignment;
}

cublasOperation_t to_op(int trans) { return trans ? CUBLAS_OP_T : CUBLAS_OP_N; }

LtMatrixLayout make_layout(cudaDataType_t type, int rows, int cols, int ld) {
  return LtMatrixLayout(type, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld);
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

bool is_capturing(cudaStream_t stream) {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  FF_CUDA_CHECK(cudaStreamIsCapturing(stream, &status));
  return status != cudaStreamCaptureStatusNone;
}

}  // namespace

struct GemmEngine::Plan {
  bool use_lt = false;
  LtMatmulDesc desc;
  LtMatrixLayout a, b, c;  // c also describes D: the product is written in place
  cublasLtMatmulAlgo_t algo{};
};

GemmEngine::GemmEngine(MemPool& pool, const std::vector<cudaStream_t>& lane_streams)
    : pool_(pool), blas_(lane_streams.at(0)) {
  for (cudaStream_t stream : lane_streams) {
    Lane lane;
    lane.stream = stream;
    lane.workspace = DeviceBuffer<unsigned char>(pool, kWorkspaceBytes, stream);
    // Lt initialises what it uses; zeroing once keeps compute-sanitizer's initcheck quiet about
    // library kernels that read workspace words they do not depend on.
    FF_CUDA_CHECK(cudaMemsetAsync(lane.workspace.data(), 0, lane.workspace.bytes(), stream));
    lanes_.push_back(std::move(lane));
  }
}

GemmEngine::~GemmEngine() = default;

void GemmEngine::set_precision(GemmPrecision precision) {
  precision_ = precision;
  FF_CUBLAS_CHECK(cublasSetMathMode(blas_.get(), precision == GemmPrecision::kTf32
                                                     ? CUBLAS_TF32_TENSOR_OP_MATH
                                                     : CUBLAS_DEFAULT_MATH));
}

const uint16_t* GemmEngine::to_bf16(const float* x, size_t span, DeviceBuffer<uint16_t>& scratch,
                                    const Lane& lane) {
  if (scratch.size() < span) {
    if (is_capturing(lane.stream)) {
      throw InternalError(
          "the bf16 GEMM scratch would grow while a CUDA graph is being captured; "
          "run the work once uncaptured first, or use --graphs off");
    }
    // The old buffer is kept, not freed: a captured graph may hold its address (the training step
    // captured while this lane's scratch was smaller, then an evaluation on the same lane needing
    // more), and freeing it would let the pool hand that memory to someone else.
    retired_scratch_.push_back(std::move(scratch));
    scratch = DeviceBuffer<uint16_t>(pool_, span, lane.stream);
  }
  kernels::launch_convert_to_bf16(x, span, scratch.data(), lane.stream);
  return scratch.data();
}

GemmEngine::Plan& GemmEngine::plan_for(const Key& key) {
  auto found = plans_.find(key);
  if (found != plans_.end()) return *found->second;
  auto plan = std::make_unique<Plan>();
  if (key.k > 0) {
    const auto precision = static_cast<GemmPrecision>(key.precision);
    // bf16 operands, fp32 accumulation (CUBLAS_COMPUTE_32F), fp32 C/D and bias.
    const cudaDataType_t operand_type =
        precision == GemmPrecision::kBf16 ? CUDA_R_16BF : CUDA_R_32F;
    plan->desc = LtMatmulDesc(precision == GemmPrecision::kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                                                : CUBLAS_COMPUTE_32F,
                              CUDA_R_32F);
    const cublasLtMatmulDesc_t desc = plan->desc.get();
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
    plan->a = key.trans_a ? make_layout(operand_type, key.k, key.m, key.lda)
                          : make_layout(operand_type, key.m, key.k, key.lda);
    plan->b = key.trans_b ? make_layout(operand_type, key.n, key.k, key.ldb)
                          : make_layout(operand_type, key.k, key.n, key.ldb);
    plan->c = make_layout(CUDA_R_32F, key.m, key.n, key.ldc);

    const LtMatmulPreference pref;
    const cublasLtMatmulPreference_t raw_pref = pref.get();
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
    // Some cuBLASLt versions answer INVALID_VALUE instead for combinations they cannot run (an
    // odd leading dimension with a bf16 epilogue, a 4-byte-aligned bias): the fallback takes
    // those too. It runs the same descriptor through cublasSgemm/GemmEx, which rejects a truly
    // invalid one, and the parity tests check its results like the Lt path's.
    if (status != CUBLAS_STATUS_SUCCESS && status != CUBLAS_STATUS_NOT_SUPPORTED &&
        status != CUBLAS_STATUS_INVALID_VALUE) {
      throw_cublas_error(status, "cublasLtMatmulAlgoGetHeuristic", __FILE__, __LINE__);
    }
    plan->use_lt =
        status == CUBLAS_STATUS_SUCCESS && returned > 0 && result.state == CUBLAS_STATUS_SUCCESS;
    if (plan->use_lt) plan->algo = result.algo;
  }
  return *plans_.emplace(key, std::move(plan)).first->second;
}

void GemmEngine::run(const GemmDesc& d, const float* a, const float* b, float* c, Epilogue epilogue,
                     const float* bias, int lane_index) {
  if (d.m <= 0 || d.n <= 0) return;
  const bool has_bias = epilogue != Epilogue::kNone;
  if (has_bias && bias == nullptr) {
    throw InternalError("gemm with a bias epilogue and no bias");
  }
  Lane& lane = lanes_.at(static_cast<size_t>(lane_index));
  if (has_bias && alignment_of(bias) < kBiasAlignment) {
    // The unfused route (see cuda_gemm.hpp): the product, then bias (+ReLU) in one pass over C.
    run(d, a, b, c, Epilogue::kNone, nullptr, lane_index);
    kernels::launch_bias_act(c, d.m, d.n, d.ldc, bias, epilogue == Epilogue::kBiasRelu,
                             lane.stream);
    return;
  }
  // bf16 needs operands to convert; k == 0 reads none, so it stays an fp32 (beta * C) call.
  const GemmPrecision arithmetic =
      precision_ == GemmPrecision::kBf16 && d.k == 0 ? GemmPrecision::kFp32 : precision_;
  const bool bf16 = arithmetic == GemmPrecision::kBf16;
  const void* a_operand = a;
  const void* b_operand = b;
  if (bf16) {
    a_operand = to_bf16(a, gemm_a_span(d), lane.bf16_a, lane);
    b_operand = to_bf16(b, gemm_b_span(d), lane.bf16_b, lane);
  }
  Key key{};
  key.trans_a = d.trans_a == Trans::kT;
  key.trans_b = d.trans_b == Trans::kT;
  key.m = d.m, key.n = d.n, key.k = d.k;
  key.lda = d.lda, key.ldb = d.ldb, key.ldc = d.ldc;
  key.epilogue = static_cast<int>(epilogue);
  key.align_a = alignment_of(a_operand), key.align_b = alignment_of(b_operand);
  key.align_c = alignment_of(c);
  key.precision = static_cast<int>(arithmetic);
  Plan& plan = plan_for(key);

  if (!plan.use_lt) {
    // One handle serves every lane: point it at this lane's stream and workspace per call
    // (cublasSetStream resets the workspace, so the workspace is set after it).
    FF_CUBLAS_CHECK(cublasSetStream(blas_.get(), lane.stream));
    FF_CUBLAS_CHECK(cublasSetWorkspace(blas_.get(), lane.workspace.data(), lane.workspace.bytes()));
    if (bf16) {
      FF_CUBLAS_CHECK(cublasGemmEx(blas_.get(), to_op(key.trans_a), to_op(key.trans_b), d.m, d.n,
                                   d.k, &d.alpha, a_operand, CUDA_R_16BF, d.lda, b_operand,
                                   CUDA_R_16BF, d.ldb, &d.beta, c, CUDA_R_32F, d.ldc,
                                   CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    } else {
      FF_CUBLAS_CHECK(cublasSgemm(blas_.get(), to_op(key.trans_a), to_op(key.trans_b), d.m, d.n,
                                  d.k, &d.alpha, a, d.lda, b, d.ldb, &d.beta, c, d.ldc));
    }
    if (has_bias) {
      kernels::launch_bias_act(c, d.m, d.n, d.ldc, bias, epilogue == Epilogue::kBiasRelu,
                               lane.stream);
    }
    return;
  }
  // The descriptor is read when the call is enqueued, so updating the pointer per call is safe.
  if (has_bias) set_desc(plan.desc.get(), CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias);
  FF_CUBLAS_CHECK(cublasLtMatmul(lt_.get(), plan.desc.get(), &d.alpha, a_operand, plan.a.get(),
                                 b_operand, plan.b.get(), &d.beta, c, plan.c.get(), c, plan.c.get(),
                                 &plan.algo, lane.workspace.data(), lane.workspace.bytes(),
                                 lane.stream));
}

}  // namespace ff::cuda
