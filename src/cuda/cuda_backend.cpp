// CUDA backend: memory and copies on the backend's stream; every op forwards to its launcher in
// kernels/ (or to the GEMM engine) with that stream. Policy stays in src/train.
#include "cuda_backend.hpp"

#include <cuda_profiler_api.h>

#include "ff/error.hpp"
#include "launch.cuh"

namespace ff {

namespace {

// Binds the calling thread to `device` and checks it can host the backend; returns the device.
int select_device(int device) {
  FF_CUDA_CHECK(cudaSetDevice(device));
  int pools = 0;
  FF_CUDA_CHECK(cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device));
  if (!pools) {
    throw CudaError("cuda:" + std::to_string(device) +
                    " does not support stream-ordered memory pools; update the NVIDIA driver or "
                    "use --device cpu");
  }
  return device;
}

std::string device_name(int device) {
  cudaDeviceProp prop{};
  FF_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  return "cuda:" + std::to_string(device) + " " + prop.name;
}

}  // namespace

CudaBackend::CudaBackend(int device)
    : device_(select_device(device)),
      name_(device_name(device_)),
      pool_(device_),
      gemm_(pool_, {lanes_[0].get(), lanes_[1].get(), lanes_[2].get()}) {
  static_assert(kLanes == 3, "list every lane's stream for the GEMM engine");
}

CudaBackend::~CudaBackend() {
  // Let queued work finish before the GEMM workspaces, the pool and the streams go away.
  for (const cuda::Stream& lane : lanes_) FF_CUDA_REPORT(cudaStreamSynchronize(lane.get()));
}

std::unique_ptr<Backend> new_cuda_backend(int device) {
  return std::make_unique<CudaBackend>(device);
}

// ---- memory ----
// Allocation and frees are ordered on lane 0; buffers another lane uses are long-lived (step
// buffers), and the trainer joins every lane into lane 0 at the end of each step.
void* CudaBackend::allocate(size_t bytes) {
  if (bytes == 0) return nullptr;
  return pool_.allocate(bytes, lanes_[0].get());
}

void CudaBackend::deallocate(void* ptr) noexcept { pool_.free(ptr, lanes_[0].get()); }

void CudaBackend::copy_to_device(void* dst, const void* host_src, size_t bytes) {
  if (bytes == 0) return;
  // Every lane first: the destination may still be read by queued work on any of them.
  synchronize();
  FF_CUDA_CHECK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, lanes_[0].get()));
  // Callers free or reuse the host buffer as soon as this returns (Array::upload of a temporary).
  // That is safe for pageable memory but not for pinned memory, whose copy is truly asynchronous;
  // waiting makes the contract hold for both. Uploads are rare (data once, an order per epoch).
  lanes_[0].synchronize();
}

void CudaBackend::copy_to_host(void* host_dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  synchronize();  // the source may be written by queued work on any lane
  FF_CUDA_CHECK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, lanes_[0].get()));
  lanes_[0].synchronize();
}

void CudaBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  FF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, current()));
}

void CudaBackend::fill(float* x, size_t n, float value) {
  kernels::launch_fill(x, n, value, current());
}

void CudaBackend::synchronize() {
  for (const cuda::Stream& lane : lanes_) lane.synchronize();
}

// ---- lanes and graphs ----
void CudaBackend::set_lane(int lane) {
  check_invariant(lane >= 0 && lane < kLanes, "lane " + std::to_string(lane) +
                                                  " does not exist (0.." +
                                                  std::to_string(kLanes - 1) + ")");
  lane_ = lane;
}

void CudaBackend::lane_wait(int waiter, int signaller) {
  if (waiter == signaller) return;
  // One event per signalling lane suffices: a wait binds to the event's latest record at the
  // time of the cudaStreamWaitEvent call, so re-recording later does not disturb earlier waits.
  cuda::Event& event = lane_events_.at(static_cast<size_t>(signaller));
  event.record(lanes_.at(static_cast<size_t>(signaller)).get());
  FF_CUDA_CHECK(cudaStreamWaitEvent(lanes_.at(static_cast<size_t>(waiter)).get(), event.get(), 0));
}

namespace {

class CudaCapturedWork final : public CapturedWork {
 public:
  CudaCapturedWork(cudaGraph_t graph, cudaStream_t stream) : graph_(graph), stream_(stream) {}
  void replay() override { graph_.launch(stream_); }

 private:
  cuda::Graph graph_;
  cudaStream_t stream_;
};

}  // namespace

std::unique_ptr<CapturedWork> CudaBackend::capture(const std::function<void()>& enqueue) {
  check_invariant(lane_ == 0, "capture() must start on lane 0");
  const cudaStream_t origin = lanes_[0].get();
  // ThreadLocal: this thread's unsafe calls (a synchronisation, a cudaMalloc) fail loudly instead
  // of silently breaking the capture; other threads are not affected.
  FF_CUDA_CHECK(cudaStreamBeginCapture(origin, cudaStreamCaptureModeThreadLocal));
  cudaGraph_t graph = nullptr;
  int forked = 1;  // lanes [1, forked) are in the capture and must be joined before it ends
  try {
    for (; forked < kLanes; ++forked) lane_wait(forked, 0);  // fork: all lanes join in
    enqueue();
    set_lane(0);
    for (int lane = 1; lane < kLanes; ++lane) lane_wait(0, lane);  // join back into lane 0
  } catch (...) {
    lane_ = 0;
    // Join the forked lanes (errors ignored: the capture may be invalidated already), so that
    // ending the capture takes every lane out of capture mode; then drop what it made. A lane
    // never forked is left alone: waiting on its event, recorded outside the capture, would be
    // a capture-isolation error masking the original one.
    for (int lane = 1; lane < forked; ++lane) {
      cudaEventRecord(lane_events_[static_cast<size_t>(lane)].get(),
                      lanes_[static_cast<size_t>(lane)].get());
      cudaStreamWaitEvent(origin, lane_events_[static_cast<size_t>(lane)].get(), 0);
    }
    if (cudaStreamEndCapture(origin, &graph) == cudaSuccess && graph) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  FF_CUDA_CHECK(cudaStreamEndCapture(origin, &graph));
  return std::make_unique<CudaCapturedWork>(graph, origin);
}

void CudaBackend::advance_cursor(StepCursor* cursor) {
  kernels::launch_advance_cursor(cursor, current());
}

namespace {
struct EventTimeMark final : TimeMark {
  cuda::Event event{true};  // with timing
};
}  // namespace

std::unique_ptr<TimeMark> CudaBackend::mark_time() {
  auto mark = std::make_unique<EventTimeMark>();
  mark->event.record(lanes_[0].get());
  return mark;
}

double CudaBackend::seconds_between(const TimeMark& start, const TimeMark& end) {
  const auto& later = dynamic_cast<const EventTimeMark&>(end);
  later.event.synchronize();
  return later.event.elapsed_ms_since(dynamic_cast<const EventTimeMark&>(start).event) * 1e-3;
}

void CudaBackend::profiler_start() {
  synchronize();  // earlier work stays outside the captured range
  FF_CUDA_CHECK(cudaProfilerStart());
}

void CudaBackend::profiler_stop() {
  synchronize();
  FF_CUDA_CHECK(cudaProfilerStop());
}

// ---- data ----
void CudaBackend::prepare_batch(const BatchSpec& spec, float* out, int32_t* task_labels) {
  kernels::launch_prepare_batch(spec, out, task_labels, current());
}

// ---- dense ----
void CudaBackend::rms_norm(const float* in, int rows, int cols, float* out, int ld_out) {
  kernels::launch_rms_norm(in, rows, cols, out, ld_out, current());
}

void CudaBackend::gemm(const GemmDesc& desc, const float* a, const float* b, float* c,
                       Epilogue epilogue, const float* bias) {
  gemm_.run(desc, a, b, c, epilogue, bias, lane_);
  // cuBLAS launches are not ours to check one by one; this still catches a launch failure and,
  // with FF_DEBUG_SYNC=1, a fault inside the GEMM, named as such.
  FF_CHECK_LAUNCH("gemm (cuBLASLt/cuBLAS)", current());
}

void CudaBackend::gather_rows(const float* src, int ld_src, const int32_t* indices, int rows,
                              int cols, float* dst) {
  kernels::launch_gather_rows(src, ld_src, indices, rows, cols, dst, current());
}

void CudaBackend::column_sum(const float* x, int rows, int cols, float* out, float beta) {
  kernels::launch_column_sum(x, rows, cols, out, beta, current());
}

// ---- Forward-Forward ----
void CudaBackend::ff_loss_grad(const FfLossSpec& spec, const float* h, float* dz, float* h_norm,
                               int ld_norm, float* pair_loss) {
  kernels::launch_ff_loss_grad(spec, h, dz, h_norm, ld_norm, pair_loss, current());
}

void CudaBackend::peer_norm(const PeerNormSpec& spec, const float* h, float* running_mean,
                            float* dz) {
  kernels::launch_peer_norm(spec, h, running_mean, dz, current());
}

void CudaBackend::hard_negative_labels(const BatchSpec& spec, const float* logits, int classes,
                                       int32_t* out) {
  kernels::launch_hard_negative_labels(spec, logits, classes, out, current());
}

void CudaBackend::goodness_score(const float* h, int rows, int width, float theta,
                                 GoodnessMode mode, float* scores, bool accumulate) {
  kernels::launch_goodness_score(h, rows, width, theta, mode, scores, accumulate, current());
}

void CudaBackend::argmax(const float* x, int items, int classes, int item_stride, int class_stride,
                         int32_t* out) {
  kernels::launch_argmax(x, items, classes, item_stride, class_stride, out, current());
}

// ---- layer-1 reuse across labels ----
void CudaBackend::label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups,
                                     int in, int out, int num_labels, const float* weight,
                                     float* h) {
  kernels::launch_label_swap_forward(z_ref, xn, ref_rows, groups, in, out, num_labels, weight, h,
                                     current());
}

void CudaBackend::label_swap_weight_correction(const float* xn, const float* dz_neg, int batch,
                                               int in, int out, int num_labels,
                                               float* weight_grad) {
  kernels::launch_label_swap_weight_correction(xn, dz_neg, batch, in, out, num_labels, weight_grad,
                                               current());
}

void CudaBackend::add(const float* a, const float* b, size_t n, float* out) {
  kernels::launch_add(a, b, n, out, current());
}

// ---- backprop ----
void CudaBackend::rms_norm_relu_backward(const float* h, const float* g, int rows, int cols,
                                         float* dz, bool accumulate) {
  kernels::launch_rms_norm_relu_backward(h, g, rows, cols, dz, accumulate, current());
}

// ---- softmax classifier ----
void CudaBackend::softmax_xent(const float* logits, const int32_t* labels, int rows, int classes,
                               float grad_scale, float* dlogits, float* row_loss) {
  kernels::launch_softmax_xent(logits, labels, rows, classes, grad_scale, dlogits, row_loss,
                               current());
}

// ---- reductions and optimisers ----
void CudaBackend::sum_into(const float* x, int n, float* acc) {
  kernels::launch_sum_into(x, n, acc, current());
}

void CudaBackend::count_equal(const int32_t* a, const int32_t* b, int n, int64_t* acc) {
  kernels::launch_count_equal(a, b, n, acc, current());
}

void CudaBackend::adam(const AdamSpec& spec, float* params, const float* grads, float* m, float* v,
                       size_t n) {
  kernels::launch_adam(spec, params, grads, m, v, n, current());
}

void CudaBackend::sgd_momentum(float lr, float momentum, float* params, const float* grads,
                               float* velocity, size_t n) {
  kernels::launch_sgd_momentum(lr, momentum, params, grads, velocity, n, current());
}

}  // namespace ff
