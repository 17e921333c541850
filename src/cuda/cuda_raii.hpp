// Move-only owners of CUDA resources (docs/layout.md: "no globals, no work on the default
// stream"). Each releases its resource exactly once; a moved-from object owns nothing. Destructors
// never throw: a failure there is reported on stderr (the process is usually unwinding already).
//
// Every CUDA, cuBLAS and cuBLASLt resource in src/cuda is owned by one of these hand-written
// classes, not by std::unique_ptr with a custom deleter: most owners are more than a pointer and a
// release call (a stream created with flags, a pool that allocates, a buffer that remembers its
// pool and stream, a graph and its executable instance), and one style keeps every resource's
// creation, release and error reporting in this file, each behind a named type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "cuda_check.hpp"

namespace ff::cuda {

// A non-blocking stream: it never synchronises implicitly with the legacy default stream, so no
// library call made elsewhere on stream 0 can serialise the backend's work.
class Stream {
 public:
  Stream();
  ~Stream();
  Stream(Stream&& other) noexcept : stream_(std::exchange(other.stream_, nullptr)) {}
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  void synchronize() const;

 private:
  cudaStream_t stream_ = nullptr;
};

// A CUDA event, with timing (for benchmarks) unless `timing` is false (cheaper for pure ordering).
class Event {
 public:
  explicit Event(bool timing = true);
  ~Event();
  Event(Event&& other) noexcept : event_(std::exchange(other.event_, nullptr)) {}
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  cudaEvent_t get() const { return event_; }
  void record(cudaStream_t stream);
  void synchronize() const;
  float elapsed_ms_since(const Event& start) const;  // both recorded and complete

 private:
  cudaEvent_t event_ = nullptr;
};

// A stream-ordered memory pool owned by one backend. Stream-ordered allocation makes a free cheap
// and safe while kernels that read the memory are still queued on the same stream, and the pool
// keeps freed blocks (release threshold: unlimited) so a training loop that reallocates
// step buffers never goes back to the driver.
class MemPool {
 public:
  explicit MemPool(int device);
  ~MemPool();
  MemPool(MemPool&& other) noexcept
      : pool_(std::exchange(other.pool_, nullptr)), device_(other.device_) {}
  MemPool& operator=(MemPool&& other) noexcept;
  MemPool(const MemPool&) = delete;
  MemPool& operator=(const MemPool&) = delete;

  // Throws ff::Error (not CudaError: it is a sizing problem the user can fix) when the device is
  // out of memory, saying how much was asked and is free.
  void* allocate(size_t bytes, cudaStream_t stream);
  void free(void* ptr, cudaStream_t stream) noexcept;

 private:
  cudaMemPool_t pool_ = nullptr;
  int device_ = 0;
};

// `count` elements of T from a MemPool, freed on `stream` when the buffer dies. The pool and the
// stream must outlive the buffer.
template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(MemPool& pool, size_t count, cudaStream_t stream)
      : pool_(&pool),
        stream_(stream),
        data_(count ? static_cast<T*>(pool.allocate(count * sizeof(T), stream)) : nullptr),
        count_(count) {}
  ~DeviceBuffer() { reset(); }
  DeviceBuffer(DeviceBuffer&& other) noexcept { *this = std::move(other); }
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      reset();
      pool_ = other.pool_;
      stream_ = other.stream_;
      data_ = std::exchange(other.data_, nullptr);
      count_ = std::exchange(other.count_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* data() const { return data_; }
  size_t size() const { return count_; }
  size_t bytes() const { return count_ * sizeof(T); }

 private:
  void reset() noexcept {
    if (data_) pool_->free(data_, stream_);
    data_ = nullptr;
    count_ = 0;
  }
  MemPool* pool_ = nullptr;
  cudaStream_t stream_ = nullptr;
  T* data_ = nullptr;
  size_t count_ = 0;
};

// A cuBLAS handle bound to one stream, in the default (non-TF32) math mode.
class CublasHandle {
 public:
  explicit CublasHandle(cudaStream_t stream);
  ~CublasHandle();
  CublasHandle(CublasHandle&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  CublasHandle& operator=(CublasHandle&& other) noexcept;
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;

  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

// A cuBLASLt handle. Lt takes the stream per call; the owner passes its own.
class CublasLtHandle {
 public:
  CublasLtHandle();
  ~CublasLtHandle();
  CublasLtHandle(CublasLtHandle&& other) noexcept
      : handle_(std::exchange(other.handle_, nullptr)) {}
  CublasLtHandle& operator=(CublasLtHandle&& other) noexcept;
  CublasLtHandle(const CublasLtHandle&) = delete;
  CublasLtHandle& operator=(const CublasLtHandle&) = delete;

  cublasLtHandle_t get() const { return handle_; }

 private:
  cublasLtHandle_t handle_ = nullptr;
};

// cuBLASLt's descriptors of a GEMM plan: the operation (compute and scale types), one matrix's
// layout, and the preferences of the algorithm search. A default-constructed descriptor owns
// nothing (a plan that runs without Lt has none).
class LtMatmulDesc {
 public:
  LtMatmulDesc() = default;
  LtMatmulDesc(cublasComputeType_t compute, cudaDataType_t scale);
  ~LtMatmulDesc();
  LtMatmulDesc(LtMatmulDesc&& other) noexcept : desc_(std::exchange(other.desc_, nullptr)) {}
  LtMatmulDesc& operator=(LtMatmulDesc&& other) noexcept;
  LtMatmulDesc(const LtMatmulDesc&) = delete;
  LtMatmulDesc& operator=(const LtMatmulDesc&) = delete;

  cublasLtMatmulDesc_t get() const { return desc_; }

 private:
  cublasLtMatmulDesc_t desc_ = nullptr;
};

class LtMatrixLayout {
 public:
  LtMatrixLayout() = default;
  LtMatrixLayout(cudaDataType_t type, uint64_t rows, uint64_t cols, int64_t ld);
  ~LtMatrixLayout();
  LtMatrixLayout(LtMatrixLayout&& other) noexcept
      : layout_(std::exchange(other.layout_, nullptr)) {}
  LtMatrixLayout& operator=(LtMatrixLayout&& other) noexcept;
  LtMatrixLayout(const LtMatrixLayout&) = delete;
  LtMatrixLayout& operator=(const LtMatrixLayout&) = delete;

  cublasLtMatrixLayout_t get() const { return layout_; }

 private:
  cublasLtMatrixLayout_t layout_ = nullptr;
};

class LtMatmulPreference {
 public:
  LtMatmulPreference();
  ~LtMatmulPreference();
  LtMatmulPreference(LtMatmulPreference&& other) noexcept
      : preference_(std::exchange(other.preference_, nullptr)) {}
  LtMatmulPreference& operator=(LtMatmulPreference&& other) noexcept;
  LtMatmulPreference(const LtMatmulPreference&) = delete;
  LtMatmulPreference& operator=(const LtMatmulPreference&) = delete;

  cublasLtMatmulPreference_t get() const { return preference_; }

 private:
  cublasLtMatmulPreference_t preference_ = nullptr;
};

// A captured CUDA graph and its executable instance (instantiated once, launched many times).
class Graph {
 public:
  // Takes ownership of `graph` (from cudaStreamEndCapture) and instantiates it.
  explicit Graph(cudaGraph_t graph);
  ~Graph();
  Graph(Graph&& other) noexcept
      : graph_(std::exchange(other.graph_, nullptr)), exec_(std::exchange(other.exec_, nullptr)) {}
  Graph& operator=(Graph&&) = delete;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  void launch(cudaStream_t stream) const;

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace ff::cuda
