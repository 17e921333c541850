// A Backend that forwards every call to another and, while recording, keeps each GEMM it is asked
// for: what `ffcuda bench` times as "the step's GEMMs alone" and counts FLOPs over is then the
// list the real step and evaluation issued, never a list kept by hand beside them. It also tracks
// the live allocations, so that a recorded GEMM can be replayed with its own operands where they
// still exist and on scratch memory of the same extent where they were freed.
#pragma once

#include <map>
#include <vector>

#include "ff/backend.hpp"

namespace ff {

struct RecordedGemm {
  GemmDesc desc;
  const float *a = nullptr, *b = nullptr;
  float* c = nullptr;
  Epilogue epilogue = Epilogue::kNone;
  const float* bias = nullptr;
};

class GemmRecorder final : public Backend {
 public:
  explicit GemmRecorder(Backend& inner) : inner_(inner) {}

  void start_recording();
  std::vector<RecordedGemm> stop_recording();  // the GEMMs since start_recording, in order
  // Whether [ptr, ptr + bytes) lies in memory allocated through this backend and not yet freed.
  bool is_live(const void* ptr, size_t bytes) const;

  DeviceKind kind() const override { return inner_.kind(); }
  std::string name() const override { return inner_.name(); }
  void* allocate(size_t bytes) override;
  void deallocate(void* ptr) noexcept override;
  void copy_to_device(void* dst, const void* src, size_t bytes) override {
    inner_.copy_to_device(dst, src, bytes);
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) override {
    inner_.copy_to_host(dst, src, bytes);
  }
  void copy(void* dst, const void* src, size_t bytes) override { inner_.copy(dst, src, bytes); }
  void fill(float* x, size_t n, float value) override { inner_.fill(x, n, value); }
  void synchronize() override { inner_.synchronize(); }
  void set_gemm_precision(GemmPrecision precision) override {
    inner_.set_gemm_precision(precision);
  }
  void profiler_start() override { inner_.profiler_start(); }
  void profiler_stop() override { inner_.profiler_stop(); }
  std::unique_ptr<TimeMark> mark_time() override { return inner_.mark_time(); }
  double seconds_between(const TimeMark& start, const TimeMark& end) override {
    return inner_.seconds_between(start, end);
  }
  void set_lane(int lane) override { inner_.set_lane(lane); }
  void lane_wait(int waiter, int signaller) override { inner_.lane_wait(waiter, signaller); }
  std::unique_ptr<CapturedWork> capture(const std::function<void()>& enqueue) override {
    return inner_.capture(enqueue);
  }
  void prepare_batch(const BatchSpec& spec, float* out, int32_t* task_labels) override {
    inner_.prepare_batch(spec, out, task_labels);
  }
  void rms_norm(const float* in, int rows, int cols, float* out, int ld_out) override {
    inner_.rms_norm(in, rows, cols, out, ld_out);
  }
  void gemm(const GemmDesc& desc, const float* a, const float* b, float* c, Epilogue epilogue,
            const float* bias) override;
  void gather_rows(const float* src, int ld_src, const int32_t* indices, int rows, int cols,
                   float* dst) override {
    inner_.gather_rows(src, ld_src, indices, rows, cols, dst);
  }
  void column_sum(const float* x, int rows, int cols, float* out, float beta) override {
    inner_.column_sum(x, rows, cols, out, beta);
  }
  void ff_loss_grad(const FfLossSpec& spec, const float* h, float* dz, float* h_norm, int ld_norm,
                    float* pair_loss) override {
    inner_.ff_loss_grad(spec, h, dz, h_norm, ld_norm, pair_loss);
  }
  void peer_norm(const PeerNormSpec& spec, const float* h, float* running_mean,
                 float* dz) override {
    inner_.peer_norm(spec, h, running_mean, dz);
  }
  void hard_negative_labels(const BatchSpec& spec, const float* logits, int classes,
                            int32_t* out) override {
    inner_.hard_negative_labels(spec, logits, classes, out);
  }
  void goodness_score(const float* h, int rows, int width, float theta, GoodnessMode mode,
                      float* scores, bool accumulate) override {
    inner_.goodness_score(h, rows, width, theta, mode, scores, accumulate);
  }
  void argmax(const float* x, int items, int classes, int item_stride, int class_stride,
              int32_t* out) override {
    inner_.argmax(x, items, classes, item_stride, class_stride, out);
  }
  void label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups, int in,
                          int out, int num_labels, const float* weight, float* h) override {
    inner_.label_swap_forward(z_ref, xn, ref_rows, groups, in, out, num_labels, weight, h);
  }
  void label_swap_weight_correction(const float* xn, const float* dz_neg, int batch, int in,
                                    int out, int num_labels, float* weight_grad) override {
    inner_.label_swap_weight_correction(xn, dz_neg, batch, in, out, num_labels, weight_grad);
  }
  void add(const float* a, const float* b, size_t n, float* out) override {
    inner_.add(a, b, n, out);
  }
  void rms_norm_relu_backward(const float* h, const float* g, int rows, int cols, float* dz,
                              bool accumulate) override {
    inner_.rms_norm_relu_backward(h, g, rows, cols, dz, accumulate);
  }
  void softmax_xent(const float* logits, const int32_t* labels, int rows, int classes,
                    float grad_scale, float* dlogits, float* row_loss) override {
    inner_.softmax_xent(logits, labels, rows, classes, grad_scale, dlogits, row_loss);
  }
  void sum_into(const float* x, int n, float* acc) override { inner_.sum_into(x, n, acc); }
  void count_equal(const int32_t* a, const int32_t* b, int n, int64_t* acc) override {
    inner_.count_equal(a, b, n, acc);
  }
  void adam(const AdamSpec& spec, float* params, const float* grads, float* m, float* v,
            size_t n) override {
    inner_.adam(spec, params, grads, m, v, n);
  }
  void sgd_momentum(float lr, float momentum, float* params, const float* grads, float* velocity,
                    size_t n) override {
    inner_.sgd_momentum(lr, momentum, params, grads, velocity, n);
  }
  void advance_cursor(StepCursor* cursor) override { inner_.advance_cursor(cursor); }

 private:
  Backend& inner_;
  bool recording_ = false;
  std::vector<RecordedGemm> recorded_;
  std::map<const char*, size_t> live_;  // allocation start -> bytes
};

}  // namespace ff
