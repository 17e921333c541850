// The CPU backend: the reference implementation of every op. Simple loops (OpenMP across rows)
// around oneDNN GEMMs (cpu_gemm.hpp). It is the oracle the CUDA backend is checked against, and
// what runs where there is no GPU, so it is also kept GEMM-bound: every non-GEMM op is a single
// pass.
#pragma once

#include <vector>

#include "cpu_gemm.hpp"
#include "cpu_transform_maps.hpp"
#include "ff/backend.hpp"

namespace ff {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(CpuBf16 bf16 = CpuBf16::kNativeWhereAvailable) : gemm_(bf16) {}
  DeviceKind kind() const override { return DeviceKind::kCpu; }
  std::string name() const override;

  void* allocate(size_t bytes) override;
  void deallocate(void* ptr) noexcept override;
  void copy_to_device(void* dst, const void* host_src, size_t bytes) override;
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void fill(float* x, size_t n, float value) override;
  void synchronize() override {}
  void set_gemm_precision(GemmPrecision precision) override;
  std::unique_ptr<TimeMark> mark_time() override;
  double seconds_between(const TimeMark& start, const TimeMark& end) override;

  void prepare_batch(const BatchSpec& spec, float* out, int32_t* task_labels) override;

  void rms_norm(const float* in, int rows, int cols, float* out, int ld_out) override;
  void gemm(const GemmDesc& desc, const float* a, const float* b, float* c, Epilogue epilogue,
            const float* bias) override;
  void gather_rows(const float* src, int ld_src, const int32_t* indices, int rows, int cols,
                   float* dst) override;
  void column_sum(const float* x, int rows, int cols, float* out, float beta) override;

  void ff_loss_grad(const FfLossSpec& spec, const float* h, float* dz, float* h_norm, int ld_norm,
                    float* pair_loss) override;
  void peer_norm(const PeerNormSpec& spec, const float* h, float* running_mean, float* dz) override;
  void hard_negative_labels(const BatchSpec& spec, const float* logits, int classes,
                            int32_t* out) override;
  void goodness_score(const float* h, int rows, int width, float theta, GoodnessMode mode,
                      float* scores, bool accumulate) override;
  void argmax(const float* x, int items, int classes, int item_stride, int class_stride,
              int32_t* out) override;

  void label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups, int in,
                          int out, int num_labels, const float* weight, float* h) override;
  void label_swap_weight_correction(const float* xn, const float* dz_neg, int batch, int in,
                                    int out, int num_labels, float* weight_grad) override;
  void add(const float* a, const float* b, size_t n, float* out) override;

  void rms_norm_relu_backward(const float* h, const float* g, int rows, int cols, float* dz,
                              bool accumulate) override;

  void softmax_xent(const float* logits, const int32_t* labels, int rows, int classes,
                    float grad_scale, float* dlogits, float* row_loss) override;

  void sum_into(const float* x, int n, float* acc) override;
  void count_equal(const int32_t* a, const int32_t* b, int n, int64_t* acc) override;
  void adam(const AdamSpec& spec, float* params, const float* grads, float* m, float* v,
            size_t n) override;
  void sgd_momentum(float lr, float momentum, float* params, const float* grads, float* velocity,
                    size_t n) override;
  void advance_cursor(StepCursor* cursor) override;

  // The bf16 copies of parameters the optimiser keeps for native bf16 GEMMs (for tests).
  const Bf16Mirrors& bf16_mirrors() const { return gemm_.mirrors(); }

 private:
  // Every op that writes memory says so first: a bf16 mirror of that memory is stale then.
  void written(const void* p, size_t bytes) { gemm_.mirrors().written(p, bytes); }

  CpuGemm gemm_;
  TransformMaps transform_maps_;      // prepare_batch's source pixels per transform
  std::vector<float> label_columns_;  // label_swap_forward's W[:, label] table (grow-only scratch)
};

}  // namespace ff
