// The GEMMs of the FF step on one CPU GEMM library, timed and checked: the measurement behind the
// choice of the CPU backend's GEMM library (bench/results/cpu-*/gemm-libraries.md). Built once per
// library by tools/gemm_survey.sh with one of GEMM_SURVEY_CBLAS (OpenBLAS or BLIS through their
// CBLAS) or GEMM_SURVEY_DNNL (oneDNN); threads come from OMP_NUM_THREADS.
//
// Shapes (m x n x k, row-major): the forward C[rows x out] = X[rows x in] W[out x in]^T ("NT")
// and the weight gradient dW[out x in] = dZ[rows x out]^T X[rows x in] ("TN") of a 4x2000 network
// on MNIST at batch 100 (200 rows: positives and negatives) and 1000. Every result is checked
// against a double-precision product of the same operands (a sample of rows), so a fast kernel
// that computes something else is caught.
//
//   gemm_survey [--bf16] [--seconds S]    one line per shape: GFLOP/s (median of timed runs), error
//   gemm_survey --list FILE [--bf16] [--seconds S]
//       the GEMMs of FILE instead, one per line as `ffcuda bench --json` lists a step's GEMMs
//       ("m n k trans_a trans_b": column-major BLAS terms, transposes as 0/1 or false/true); each
//       distinct shape timed once, then one last line: "list: T ms, G GFLOP/s" for the whole list
//       (the library alone at the step's shapes, what tools/cpu_speed.sh holds the engine to).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#if defined(GEMM_SURVEY_DNNL)
#include <dnnl.h>

#include <dnnl.hpp>
#elif defined(GEMM_SURVEY_CBLAS)
#include <cblas.h>
#if defined(GEMM_SURVEY_OPENBLAS)
extern "C" char* openblas_get_corename();
#endif
#else
#error "build with -DGEMM_SURVEY_DNNL or -DGEMM_SURVEY_CBLAS"
#endif

namespace {

struct Shape {
  const char* what;
  bool transpose_a;  // TN: A is stored [k x m]; NT: B is stored [n x k]
  int m, n, k;
};

// bf16 of x, round to nearest even (as the engine's bf16_bits_of), widened back to float.
float to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  bits &= 0xffff0000u;
  float y;
  std::memcpy(&y, &bits, sizeof y);
  return y;
}

uint16_t bf16_bits(float x) {
  const float rounded = to_bf16(x);
  uint32_t bits;
  std::memcpy(&bits, &rounded, sizeof bits);
  return static_cast<uint16_t>(bits >> 16);
}

// C = op(A) op(B), row-major, fp32 in and out.
void gemm_fp32(const Shape& s, const float* a, const float* b, float* c) {
#if defined(GEMM_SURVEY_DNNL)
  const dnnl_status_t status =
      dnnl_sgemm(s.transpose_a ? 'T' : 'N', s.transpose_a ? 'N' : 'T', s.m, s.n, s.k, 1.0f, a,
                 s.transpose_a ? s.m : s.k, b, s.transpose_a ? s.n : s.k, 0.0f, c, s.n);
  if (status != dnnl_success) {
    std::fprintf(stderr, "dnnl_sgemm failed (%d)\n", static_cast<int>(status));
    std::exit(1);
  }
#else
  cblas_sgemm(CblasRowMajor, s.transpose_a ? CblasTrans : CblasNoTrans,
              s.transpose_a ? CblasNoTrans : CblasTrans, s.m, s.n, s.k, 1.0f, a,
              s.transpose_a ? s.m : s.k, b, s.transpose_a ? s.n : s.k, 0.0f, c, s.n);
#endif
}

#if defined(GEMM_SURVEY_DNNL)
// oneDNN's matmul primitive on the operands as they lie (strides, no reorder): `type` f32 or bf16
// operands, f32 result. Created once per shape, as an engine would cache it.
class Matmul {
 public:
  Matmul(const Shape& s, dnnl::memory::data_type type)
      : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {
    using dnnl::memory;
    const memory::dims a_strides = s.transpose_a ? memory::dims{1, s.m} : memory::dims{s.k, 1};
    const memory::dims b_strides = s.transpose_a ? memory::dims{s.n, 1} : memory::dims{1, s.k};
    a_ = memory::desc({s.m, s.k}, type, a_strides);
    b_ = memory::desc({s.k, s.n}, type, b_strides);
    c_ = memory::desc({s.m, s.n}, memory::data_type::f32, memory::dims{s.n, 1});
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_, b_, c_), engine_);
    matmul_ = dnnl::matmul(pd);
  }
  void run(const void* a, const void* b, float* c) {
    dnnl::memory am(a_, engine_, const_cast<void*>(a)), bm(b_, engine_, const_cast<void*>(b)),
        cm(c_, engine_, c);
    matmul_.execute(stream_, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    stream_.wait();
  }

 private:
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory::desc a_, b_, c_;
  dnnl::matmul matmul_;
};
#endif

// Relative Frobenius error of `rows` sampled rows of C against a double product of `a_used`,
// `b_used` (the operands the library was given, after any bf16 rounding).
double checked_error(const Shape& s, const std::vector<float>& a, const std::vector<float>& b,
                     const std::vector<float>& c) {
  double diff = 0, norm = 0;
  for (int i = 0; i < s.m; i += std::max(1, s.m / 16)) {
    for (int j = 0; j < s.n; ++j) {
      double sum = 0;
      for (int p = 0; p < s.k; ++p) {
        const double x = s.transpose_a ? a[static_cast<size_t>(p) * s.m + i]
                                       : a[static_cast<size_t>(i) * s.k + p];
        const double y = s.transpose_a ? b[static_cast<size_t>(p) * s.n + j]
                                       : b[static_cast<size_t>(j) * s.k + p];
        sum += x * y;
      }
      const double d = c[static_cast<size_t>(i) * s.n + j] - sum;
      diff += d * d;
      norm += sum * sum;
    }
  }
  return std::sqrt(diff / norm);
}

#if defined(GEMM_SURVEY_DNNL)
const char* isa_name(dnnl_cpu_isa_t isa) {
  switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}
#endif

// A GEMM of a list in column-major BLAS terms (C[m x n] = op(A) op(B)) is, row-major, C^T[n x m] =
// op(B)^T op(A)^T: with (trans_a, trans_b) = (T, N) that is the survey's NT shape, with (N, T) its
// TN shape (the engine's forward and weight-gradient GEMMs; no other pair occurs in its FF step).
// Replaces `shapes` by the list's distinct shapes and `repeats` by how often each occurs.
void read_list(const std::string& path, std::vector<Shape>* shapes, std::vector<int>* repeats) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (!file) {
    std::fprintf(stderr, "gemm_survey: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  shapes->clear();
  repeats->clear();
  auto flag = [](const char* word) {
    return std::strcmp(word, "1") == 0 || std::strcmp(word, "true") == 0;
  };
  int m, n, k;
  char ta[8], tb[8];
  while (std::fscanf(file, "%d %d %d %7s %7s", &m, &n, &k, ta, tb) == 5) {
    if (flag(ta) == flag(tb)) {
      std::fprintf(stderr, "gemm_survey: %d %d %d %s %s: only (T, N) and (N, T) are supported\n", m,
                   n, k, ta, tb);
      std::exit(2);
    }
    const Shape shape{flag(ta) ? "forward (list)" : "weight grad (list)", !flag(ta), n, m, k};
    size_t found = 0;
    while (found < shapes->size() &&
           !((*shapes)[found].transpose_a == shape.transpose_a && (*shapes)[found].m == shape.m &&
             (*shapes)[found].n == shape.n && (*shapes)[found].k == shape.k)) {
      ++found;
    }
    if (found == shapes->size()) {
      shapes->push_back(shape);
      repeats->push_back(0);
    }
    ++(*repeats)[found];
  }
  std::fclose(file);
  if (shapes->empty()) {
    std::fprintf(stderr, "gemm_survey: %s lists no GEMM\n", path.c_str());
    std::exit(2);
  }
}

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  bool bf16 = false, matmul = false;
  double seconds = 1.0;
  std::string list_file;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--bf16") bf16 = matmul = true;  // (oneDNN: through matmul)
    else if (std::string(argv[i]) == "--matmul") matmul = true;
    else if (std::string(argv[i]) == "--seconds" && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (std::string(argv[i]) == "--list" && i + 1 < argc) list_file = argv[++i];
    else {
      std::fprintf(stderr, "gemm_survey: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
#if defined(GEMM_SURVEY_OPENBLAS)
  std::printf("kernels: OpenBLAS %s\n", openblas_get_corename());
#elif defined(GEMM_SURVEY_DNNL)
  std::printf("kernels: oneDNN %d.%d, ISA %s\n", dnnl_version()->major, dnnl_version()->minor,
              isa_name(dnnl_get_effective_cpu_isa()));
#endif
#if !defined(GEMM_SURVEY_DNNL) && !defined(GEMM_SURVEY_OPENBLAS_BF16)
  if (bf16) {
    std::printf("bf16: this build of the library has no bf16 GEMM\n");
    return 0;
  }
#endif
  std::vector<Shape> shapes = {
      {"forward, batch 100 (one half)", false, 100, 2000, 2000},
      {"forward, batch 100 (2B rows)", false, 200, 2000, 2000},
      {"weight grad, batch 100", true, 2000, 2000, 200},
      {"layer 1 forward, batch 100", false, 200, 2000, 784},
      {"forward, batch 1000 (2B rows)", false, 2000, 2000, 2000},
      {"weight grad, batch 1000", true, 2000, 2000, 2000},
  };
  std::vector<int> repeats(shapes.size(), 1);
  if (!list_file.empty()) read_list(list_file, &shapes, &repeats);
  double list_seconds = 0.0, list_flops = 0.0;
  std::mt19937 random(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (size_t shape = 0; shape < shapes.size(); ++shape) {
    const Shape& s = shapes[shape];
    std::vector<float> a(static_cast<size_t>(s.m) * s.k), b(static_cast<size_t>(s.n) * s.k),
        c(static_cast<size_t>(s.m) * s.n);
    for (float& x : a) x = uniform(random);
    for (float& x : b) x = uniform(random);
    std::vector<uint16_t> a16, b16;
    if (bf16) {
      for (float& x : a) x = to_bf16(x);  // the checked operands are the rounded ones
      for (float& x : b) x = to_bf16(x);
      for (float x : a) a16.push_back(bf16_bits(x));
      for (float x : b) b16.push_back(bf16_bits(x));
    }
#if defined(GEMM_SURVEY_DNNL)
    std::unique_ptr<Matmul> primitive;
    if (matmul) {
      primitive = std::make_unique<Matmul>(s, bf16 ? dnnl::memory::data_type::bf16
                                                   : dnnl::memory::data_type::f32);
    }
#else
    (void)matmul;
#endif
    auto run = [&] {
#if defined(GEMM_SURVEY_OPENBLAS_BF16)
      if (bf16) {  // OpenBLAS's own bf16 GEMM (sbgemm): bf16 operands, fp32 accumulation
        cblas_sbgemm(CblasRowMajor, s.transpose_a ? CblasTrans : CblasNoTrans,
                     s.transpose_a ? CblasNoTrans : CblasTrans, s.m, s.n, s.k, 1.0f,
                     reinterpret_cast<const bfloat16*>(a16.data()), s.transpose_a ? s.m : s.k,
                     reinterpret_cast<const bfloat16*>(b16.data()), s.transpose_a ? s.n : s.k, 0.0f,
                     c.data(), s.n);
        return;
      }
#endif
#if defined(GEMM_SURVEY_DNNL)
      if (primitive) {
        if (bf16) {
          primitive->run(a16.data(), b16.data(), c.data());
        } else {
          primitive->run(a.data(), b.data(), c.data());
        }
        return;
      }
#endif
      gemm_fp32(s, a.data(), b.data(), c.data());
    };
    for (int i = 0; i < 3; ++i) run();  // warm-up: packing buffers, thread pool, page faults
    std::vector<double> times;
    const double start = seconds_now();
    while (times.size() < 5 || (seconds_now() - start < seconds && times.size() < 1000)) {
      const double t0 = seconds_now();
      run();
      times.push_back(seconds_now() - t0);
    }
    std::sort(times.begin(), times.end());
    const double median = times[times.size() / 2];
    const double flops = 2.0 * s.m * s.n * s.k;
    std::printf("%-32s %s %5d x %5d x %5d  %8.1f GFLOP/s  (median of %zu)  error %.1e\n", s.what,
                s.transpose_a ? "TN" : "NT", s.m, s.n, s.k, flops / median * 1e-9, times.size(),
                checked_error(s, a, b, c));
    list_seconds += repeats[shape] * median;
    list_flops += repeats[shape] * flops;
  }
  if (!list_file.empty()) {
    std::printf("list: %.3f ms, %.1f GFLOP/s\n", list_seconds * 1e3,
                list_flops / list_seconds * 1e-9);
  }
  return 0;
}
