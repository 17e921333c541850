#include "cpu_gemm.hpp"

#include <oneapi/dnnl/dnnl.h>

#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>

#include "cpu_bf16_kernels.hpp"
#include "ff/error.hpp"
#include "ff/math.hpp"

namespace ff {

namespace {

const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "generic";
  }
}

bool has_isa(dnnl_cpu_isa_t effective, dnnl_cpu_isa_t wanted) {
  return (static_cast<unsigned>(effective) & static_cast<unsigned>(wanted)) ==
         static_cast<unsigned>(wanted);
}

// Never fall back to slow kernels in silence: where the CPU has AVX2 or AVX-512 and oneDNN was
// not told to stay below them (ONEDNN_MAX_CPU_ISA), a lower ISA means the library does not know
// this CPU; say so once, with what to do.
void warn_if_generic(dnnl_cpu_isa_t isa) {
#if defined(__x86_64__)
  static bool said = false;
  if (said || std::getenv("ONEDNN_MAX_CPU_ISA") != nullptr || std::getenv("DNNL_MAX_CPU_ISA"))
    return;
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool below = (avx512 && !has_isa(isa, dnnl_cpu_isa_avx512_core)) ||
                     (avx2 && !has_isa(isa, dnnl_cpu_isa_avx2));
  if (below) {
    std::fprintf(stderr,
                 "ffcuda: note: oneDNN uses %s kernels although this CPU has %s: GEMMs run "
                 "several times slower than they could; a newer oneDNN (libdnnl) knows it\n",
                 isa_name(isa), avx512 ? "AVX-512" : "AVX2");
    said = true;
  }
#else
  (void)isa;
#endif
}

}  // namespace

// One oneDNN matmul primitive per GEMM shape (created on first use; a training run has a handful):
// the column-major GemmDesc seen row-major, C^T[n x m] = op(B)^T op(A)^T, with strided bf16
// operands, an f32 destination and beta as a sum post-op.
class CpuGemm::NativeBf16 {
 public:
  NativeBf16() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

  // Operands the mirrors hold (the weights, after the optimiser's first update) are read from
  // there; the others are converted here.
  void run(const GemmDesc& d, const float* a, const float* b, float* c,
           const Bf16Mirrors& mirrors) {
    using dnnl::memory;
    const uint16_t* a16 = bf16_operand(a, gemm_a_span(d), mirrors, a16_);
    const uint16_t* b16 = bf16_operand(b, gemm_b_span(d), mirrors, b16_);
    Primitive& p = primitive(d);
    // oneDNN's memory objects take non-const handles; it only reads src and weights.
    memory src(p.src, engine_, const_cast<uint16_t*>(b16)),
        weights(p.weights, engine_, const_cast<uint16_t*>(a16)), dst(p.dst, engine_, c);
    p.matmul.execute(stream_,
                     {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, dst}});
    stream_.wait();
  }

 private:
  struct Primitive {
    dnnl::memory::desc src, weights, dst;
    dnnl::matmul matmul;
  };

  static const uint16_t* bf16_operand(const float* x, size_t span, const Bf16Mirrors& mirrors,
                                      std::vector<uint16_t>& scratch) {
    if (const uint16_t* mirrored = mirrors.find(x, span)) return mirrored;
    if (scratch.size() < span) scratch.resize(span);
    to_bf16_bits(x, span, scratch.data());
    return scratch.data();
  }

  Primitive& primitive(const GemmDesc& d) {
    const auto key = std::make_tuple(static_cast<int>(d.trans_a), static_cast<int>(d.trans_b), d.m,
                                     d.n, d.k, d.lda, d.ldb, d.ldc, d.alpha, d.beta);
    const auto found = cache_.find(key);
    if (found != cache_.end()) return found->second;
    using dnnl::memory;
    using dims = memory::dims;
    // src = op(B)^T [n x k]: element (j, p) of op(B)^T is op(B)(p, j).
    const dims src_strides = d.trans_b == Trans::kN ? dims{d.ldb, 1} : dims{1, d.ldb};
    // weights = op(A)^T [k x m]: element (p, i) is op(A)(i, p).
    const dims weight_strides = d.trans_a == Trans::kN ? dims{d.lda, 1} : dims{1, d.lda};
    Primitive p;
    p.src = memory::desc({d.n, d.k}, memory::data_type::bf16, src_strides);
    p.weights = memory::desc({d.k, d.m}, memory::data_type::bf16, weight_strides);
    p.dst = memory::desc({d.n, d.m}, memory::data_type::f32, dims{d.ldc, 1});
    dnnl::primitive_attr attr;
    if (d.alpha != 1.0f) attr.set_output_scales(0, {d.alpha});
    if (d.beta != 0.0f) {
      dnnl::post_ops ops;
      ops.append_sum(d.beta);
      attr.set_post_ops(ops);
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p.src, p.weights, p.dst), attr,
                                          engine_);
    p.matmul = dnnl::matmul(pd);
    return cache_.emplace(key, std::move(p)).first->second;
  }

  dnnl::engine engine_;
  dnnl::stream stream_;
  std::vector<uint16_t> a16_, b16_;
  std::map<std::tuple<int, int, int, int, int, int, int, int, float, float>, Primitive> cache_;
};

CpuGemm::CpuGemm(CpuBf16 bf16_mode)
    : wants_native_(bf16_mode != CpuBf16::kEmulated),
      wants_mirrors_(bf16_mode == CpuBf16::kNativeWhereAvailable) {
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  warn_if_generic(isa);
  native_bf16_ = wants_native_ && has_isa(isa, dnnl_cpu_isa_avx512_core_bf16);
}

CpuGemm::~CpuGemm() = default;

std::string CpuGemm::describe() const {
  const dnnl_version_t* version = dnnl_version();
  return "oneDNN " + std::to_string(version->major) + "." + std::to_string(version->minor) + ", " +
         isa_name(dnnl_get_effective_cpu_isa()) + " kernels";
}

void CpuGemm::set_bf16(bool bf16) {
  bf16_ = bf16;
  if (bf16 && native_bf16_ && !native_) native_ = std::make_unique<NativeBf16>();
  if (bf16 && wants_native_ && !native_bf16_) {
    static bool said = false;
    if (!said) {
      std::fprintf(stderr,
                   "ffcuda: note: this CPU has no bf16 GEMM instructions (AVX512_BF16): "
                   "--precision bf16 runs fp32 GEMMs of bf16-rounded operands (the same "
                   "results up to rounding, no speed-up)\n");
      said = true;
    }
  }
}

void CpuGemm::run_fp32(const GemmDesc& d, const float* a, const float* b, float* c) {
  // Column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T: the same call with the
  // operands swapped.
  const dnnl_status_t status =
      dnnl_sgemm(d.trans_b == Trans::kT ? 'T' : 'N', d.trans_a == Trans::kT ? 'T' : 'N', d.n, d.m,
                 d.k, d.alpha, b, d.ldb, a, d.lda, d.beta, c, d.ldc);
  check_invariant(status == dnnl_success,
                  "oneDNN sgemm failed (status " + std::to_string(static_cast<int>(status)) + ")");
}

void CpuGemm::run(const GemmDesc& d, const float* a, const float* b, float* c) {
  mirrors_.written(c, gemm_c_span(d) * sizeof(float));
  if (!bf16_) return run_fp32(d, a, b, c);
  if (native_) return native_->run(d, a, b, c, mirrors_);
  auto rounded = [](const float* x, size_t span, std::vector<float>& scratch) {
    if (scratch.size() < span) scratch.resize(span);
    float* __restrict out = scratch.data();
    const auto count = static_cast<int64_t>(span);
#pragma omp parallel for simd schedule(static)
    for (int64_t i = 0; i < count; ++i) out[i] = round_to_bf16(x[i]);
    return static_cast<const float*>(scratch.data());
  };
  run_fp32(d, rounded(a, gemm_a_span(d), rounded_a_), rounded(b, gemm_b_span(d), rounded_b_), c);
}

}  // namespace ff
