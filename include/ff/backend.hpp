// The one op interface. The CPU backend (src/cpu) is the reference oracle; the CUDA backend
// (src/cuda + kernels/) implements the same ops and is checked against it op by op
// (tests/test_parity_*.cpp). Pointers passed to an op are the backend's own memory (device memory
// for CUDA); all tensors are row-major. Ops are asynchronous on CUDA: call synchronize() (or a
// copy_to_host) before reading results on the host. Ops never decide policy; src/train does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ff/error.hpp"
#include "ff/gemm.hpp"
#include "ff/ops.hpp"

namespace ff {

enum class DeviceKind : uint8_t { kCpu, kCuda };

// A point in a backend's stream of work (Backend::mark_time): a CUDA event on lane 0, or the host
// clock on the CPU (whose ops are done when they return).
class TimeMark {
 public:
  virtual ~TimeMark() = default;
};

// Work recorded once by Backend::capture and replayed as a whole (a CUDA Graph).
class CapturedWork {
 public:
  virtual ~CapturedWork() = default;
  // Enqueues the recorded work on lane 0, after everything enqueued there before.
  virtual void replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  Backend() = default;
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // Expires when the backend is destroyed: an Array that outlives its backend then skips the
  // deallocate call on a dead object (its memory went with the backend: the CUDA pool and context
  // release it; on the CPU it is leaked rather than freed through a destroyed object).
  std::weak_ptr<const void> lifetime() const { return lifetime_; }

  virtual DeviceKind kind() const = 0;
  virtual std::string name()
      const = 0;  // e.g. "cpu (oneDNN 2.6, avx2 kernels, 2 threads)", "cuda:0 NVIDIA H100"

  // ---- memory ----
  virtual void* allocate(size_t bytes) = 0;  // throws ff::Error saying how much and what to do
  virtual void deallocate(void* ptr) noexcept = 0;
  virtual void copy_to_device(void* dst, const void* host_src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;  // synchronises
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;               // within backend
  virtual void fill(float* x, size_t n, float value) = 0;
  virtual void synchronize() = 0;
  // The arithmetic of every later gemm(); throws ff::Error for a precision the backend lacks.
  virtual void set_gemm_precision(GemmPrecision precision) = 0;
  // Brackets the work an external profiler records (cudaProfilerStart/Stop on CUDA, so that
  // `nsys profile --capture-range=cudaProfilerApi` captures just those steps); no-op on the CPU.
  virtual void profiler_start() {}
  virtual void profiler_stop() {}
  // Device-side timing (benchmarks): a mark after all work issued so far on lane 0 (so after any
  // lane joined into it), and the seconds between two marks, waiting for the later one.
  virtual std::unique_ptr<TimeMark> mark_time() = 0;
  virtual double seconds_between(const TimeMark& start, const TimeMark& end) = 0;

  // ---- concurrency: lanes and captured work ----
  // A lane is an in-order queue of ops (a CUDA stream); ops go to the current lane (0 unless set).
  // Work on different lanes may run at the same time, so a lane that reads what another writes
  // must wait for it (lane_wait), and so must a lane that overwrites what another still reads.
  // synchronize() and copy_to_host wait for every lane. Whoever sets a lane other than 0 sets 0
  // back before returning (the rest of the engine assumes lane 0).
  // The CPU runs each op to completion the moment it is called: program order, one valid
  // schedule of any correct lane plan, so the CPU result of a lane plan is its serial result.
  static constexpr int kLanes = 3;
  virtual void set_lane(int lane) { (void)lane; }
  // Work enqueued on `waiter` from now on starts after all work enqueued so far on `signaller`.
  virtual void lane_wait(int waiter, int signaller) {
    (void)waiter;
    (void)signaller;
  }
  // Records the ops `enqueue` issues (on any lanes) instead of running them, for replay; null
  // where the backend cannot record (the CPU). The ops must not synchronise, copy to or from the
  // host, or allocate; every lane is joined back into lane 0 at the end of the recording.
  virtual std::unique_ptr<CapturedWork> capture(const std::function<void()>& enqueue) {
    (void)enqueue;
    return nullptr;
  }

  // ---- data ----
  // Writes batch_rows(spec) rows of spec.channels*height*width floats to `out`, and the task label
  // of each of the spec.batch samples to `task_labels` (may be null).
  virtual void prepare_batch(const BatchSpec& spec, float* out, int32_t* task_labels) = 0;

  // ---- dense ----
  // out[r, 0:cols] = in[r] / (1e-8 + sqrt(mean(in[r]^2))), out rows ld_out apart (for
  // concatenation).
  virtual void rms_norm(const float* in, int rows, int cols, float* out, int ld_out) = 0;
  virtual void gemm(const GemmDesc& desc, const float* a, const float* b, float* c,
                    Epilogue epilogue = Epilogue::kNone, const float* bias = nullptr) = 0;
  // dst[i, 0:cols] = src[indices[i], 0:cols] for i < rows; rows of src are ld_src apart.
  virtual void gather_rows(const float* src, int ld_src, const int32_t* indices, int rows, int cols,
                           float* dst) = 0;
  // out[j] = beta * out[j] + sum_r x[r, j]   (bias gradients)
  virtual void column_sum(const float* x, int rows, int cols, float* out, float beta) = 0;

  // ---- Forward-Forward ----
  // One pass over the layer output h [2*pairs x width]: goodness, loss, dL/dz (already divided by
  // `pairs`, the B of docs/what-it-computes.md) and, when h_norm is not null, the RMS-normalised
  // rows the next layer reads (ld_norm apart). pair_loss[i] = the loss terms of positive i and
  // negative i.
  virtual void ff_loss_grad(const FfLossSpec& spec, const float* h, float* dz, float* h_norm,
                            int ld_norm, float* pair_loss) = 0;
  // scores[r] (+)= G(h[r]) - theta for the slow classifier (accumulate=false overwrites).
  virtual void goodness_score(const float* h, int rows, int width, float theta, GoodnessMode mode,
                              float* scores, bool accumulate) = 0;
  // Peer normalisation of one layer (PeerNormSpec): updates running_mean [width] with the mean of
  // h's positive rows (rows 0..pairs-1 of h [2*pairs x width]), then adds the peer loss's gradient
  // to dz's positive rows where h > 0 (ff/math.hpp: peer_norm_gradient).
  virtual void peer_norm(const PeerNormSpec& spec, const float* h, float* running_mean,
                         float* dz) = 0;
  // --negatives hard: out[i] = the negative label of sample i of the batch `spec` names (at its
  // cursor), drawn from logits [batch x classes] (ff/batch_prep.hpp: hard_negative_for).
  virtual void hard_negative_labels(const BatchSpec& spec, const float* logits, int classes,
                                    int32_t* out) = 0;
  // out[i] = argmax_c x[i*item_stride + c*class_stride], first maximum on ties.
  virtual void argmax(const float* x, int items, int classes, int item_stride, int class_stride,
                      int32_t* out) = 0;

  // ---- layer-1 reuse across labels (see ff/batch_prep.hpp) ----
  // h [groups*ref_rows x out]: group 0 = relu(z_ref); row r of a later group =
  // relu(z_ref[r % ref_rows] + s_r W[:, label_r] - s_ref W[:, label_ref]), the labels and scales
  // read from the label columns of the normalised input rows xn [groups*ref_rows x in].
  virtual void label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups,
                                  int in, int out, int num_labels, const float* weight,
                                  float* h) = 0;
  // For a positive/negative batch whose weight gradient was taken as (dz_pos + dz_neg)^T xn_pos:
  // adds the negatives' label terms, weight_grad[u, n_i] += s dz_neg[i, u], [u, p_i] -= s dz_neg[i,
  // u].
  virtual void label_swap_weight_correction(const float* xn, const float* dz_neg, int batch, int in,
                                            int out, int num_labels, float* weight_grad) = 0;
  // out[i] = a[i] + b[i]
  virtual void add(const float* a, const float* b, size_t n, float* out) = 0;

  // ---- backprop ----
  // dz[r] (+)= [h > 0] * (d norm(h[r]) / d h)^T g[r]: the backward of "ReLU output h, then the RMS
  // norm the next layer reads" in one pass (rows x cols; accumulate adds to dz).
  virtual void rms_norm_relu_backward(const float* h, const float* g, int rows, int cols, float* dz,
                                      bool accumulate) = 0;

  // ---- softmax classifier ----
  // Softmax cross-entropy: dlogits = (softmax - onehot) * grad_scale, row_loss[r] = -log p[label].
  virtual void softmax_xent(const float* logits, const int32_t* labels, int rows, int classes,
                            float grad_scale, float* dlogits, float* row_loss) = 0;

  // ---- reductions and optimisers ----
  // acc[0] += sum(x[0:n]) in a fixed order (bit-reproducible).
  virtual void sum_into(const float* x, int n, float* acc) = 0;
  // acc[0] += number of i with a[i] == b[i].
  virtual void count_equal(const int32_t* a, const int32_t* b, int n, int64_t* acc) = 0;
  virtual void adam(const AdamSpec& spec, float* params, const float* grads, float* m, float* v,
                    size_t n) = 0;
  virtual void sgd_momentum(float lr, float momentum, float* params, const float* grads,
                            float* velocity, size_t n) = 0;
  // cursor->step += 1 (see StepCursor): the last op of a training step.
  virtual void advance_cursor(StepCursor* cursor) = 0;

 private:
  std::shared_ptr<const void> lifetime_ = std::make_shared<char>(0);
};

// "auto" (CUDA when a device is usable, else CPU with a line on stderr saying why), "cuda", "cpu".
std::unique_ptr<Backend> make_backend(const std::string& device);
std::unique_ptr<Backend> make_cpu_backend(CpuBf16 bf16 = CpuBf16::kNativeWhereAvailable);
bool cuda_compiled_in();

// Move-only owner of `size` elements of T in a backend's memory.
template <class T>
class Array {
 public:
  Array() = default;
  Array(Backend& backend, size_t size)
      : backend_(&backend),
        backend_alive_(backend.lifetime()),
        data_(size ? static_cast<T*>(backend.allocate(size * sizeof(T))) : nullptr),
        size_(size) {}
  Array(Backend& backend, const std::vector<T>& host) : Array(backend, host.size()) {
    upload(host);
  }
  ~Array() { reset(); }
  Array(Array&& other) noexcept { *this = std::move(other); }
  Array& operator=(Array&& other) noexcept {
    if (this != &other) {
      reset();
      backend_ = other.backend_;
      backend_alive_ = std::move(other.backend_alive_);
      data_ = other.data_;
      size_ = other.size_;
      other.data_ = nullptr;
      other.size_ = 0;
    }
    return *this;
  }
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }

  void upload(const std::vector<T>& host) {
    if (host.size() != size_) throw InternalError("Array::upload: size mismatch");
    if (size_) backend_->copy_to_device(data_, host.data(), bytes());
  }
  std::vector<T> download() const {
    std::vector<T> host(size_);
    if (size_) backend_->copy_to_host(host.data(), data_, bytes());
    return host;
  }

 private:
  void reset() {
    if (data_ && !backend_alive_.expired()) backend_->deallocate(data_);
    data_ = nullptr;
    size_ = 0;
  }
  Backend* backend_ = nullptr;
  std::weak_ptr<const void> backend_alive_;
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace ff
