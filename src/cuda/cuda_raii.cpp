// Creation and release of the CUDA resources of cuda_raii.hpp.
#include "cuda_raii.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ff::cuda {

// ---- Stream ----
Stream::Stream() { FF_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
Stream::~Stream() {
  if (stream_) FF_CUDA_REPORT(cudaStreamDestroy(stream_));
}
Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (stream_) FF_CUDA_REPORT(cudaStreamDestroy(stream_));
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}
void Stream::synchronize() const { FF_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

// ---- Event ----
Event::Event(bool timing) {
  FF_CUDA_CHECK(
      cudaEventCreateWithFlags(&event_, timing ? cudaEventDefault : cudaEventDisableTiming));
}
Event::~Event() {
  if (event_) FF_CUDA_REPORT(cudaEventDestroy(event_));
}
Event& Event::operator=(Event&& other) noexcept {
  if (this != &other) {
    if (event_) FF_CUDA_REPORT(cudaEventDestroy(event_));
    event_ = std::exchange(other.event_, nullptr);
  }
  return *this;
}
void Event::record(cudaStream_t stream) { FF_CUDA_CHECK(cudaEventRecord(event_, stream)); }
void Event::synchronize() const { FF_CUDA_CHECK(cudaEventSynchronize(event_)); }
float Event::elapsed_ms_since(const Event& start) const {
  float ms = 0.0f;
  FF_CUDA_CHECK(cudaEventElapsedTime(&ms, start.event_, event_));
  return ms;
}

// ---- MemPool ----
MemPool::MemPool(int device) : device_(device) {
  cudaMemPoolProps props{};
  props.allocType = cudaMemAllocationTypePinned;
  props.handleTypes = cudaMemHandleTypeNone;
  props.location.type = cudaMemLocationTypeDevice;
  props.location.id = device;
  FF_CUDA_CHECK(cudaMemPoolCreate(&pool_, &props));
  uint64_t keep_everything = UINT64_MAX;
  FF_CUDA_CHECK(cudaMemPoolSetAttribute(pool_, cudaMemPoolAttrReleaseThreshold, &keep_everything));
}
MemPool::~MemPool() {
  // Blocks still in flight are released by the driver once their frees complete.
  if (pool_) FF_CUDA_REPORT(cudaMemPoolDestroy(pool_));
}
MemPool& MemPool::operator=(MemPool&& other) noexcept {
  if (this != &other) {
    if (pool_) FF_CUDA_REPORT(cudaMemPoolDestroy(pool_));
    pool_ = std::exchange(other.pool_, nullptr);
    device_ = other.device_;
  }
  return *this;
}

void* MemPool::allocate(size_t bytes, cudaStream_t stream) {
  void* ptr = nullptr;
  const cudaError_t status = cudaMallocFromPoolAsync(&ptr, bytes, pool_, stream);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // out-of-memory is not sticky: clear it so the next call starts clean
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    throw Error("out of GPU memory on cuda:" + std::to_string(device_) + ": asked for " +
                std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB, " +
                std::to_string(free_bytes >> 20) + " MiB free of " +
                std::to_string(total_bytes >> 20) +
                " MiB; use a smaller --batch (or fewer/narrower --layers)");
  }
  FF_CUDA_CHECK(status);
  return ptr;
}

void MemPool::free(void* ptr, cudaStream_t stream) noexcept {
  if (ptr) FF_CUDA_REPORT(cudaFreeAsync(ptr, stream));
}

// ---- cuBLAS ----
CublasHandle::CublasHandle(cudaStream_t stream) {
  FF_CUBLAS_CHECK(cublasCreate(&handle_));
  FF_CUBLAS_CHECK(cublasSetStream(handle_, stream));
  // Explicitly the default math mode: fp32 GEMMs stay fp32 (no TF32), matching the CPU oracle
  // to fp32 rounding. TF32 would be a deliberate, separately tested choice.
  FF_CUBLAS_CHECK(cublasSetMathMode(handle_, CUBLAS_DEFAULT_MATH));
}
CublasHandle::~CublasHandle() {
  if (handle_) cublasDestroy(handle_);
}
CublasHandle& CublasHandle::operator=(CublasHandle&& other) noexcept {
  if (this != &other) {
    if (handle_) cublasDestroy(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

CublasLtHandle::CublasLtHandle() { FF_CUBLAS_CHECK(cublasLtCreate(&handle_)); }
CublasLtHandle::~CublasLtHandle() {
  if (handle_) cublasLtDestroy(handle_);
}
CublasLtHandle& CublasLtHandle::operator=(CublasLtHandle&& other) noexcept {
  if (this != &other) {
    if (handle_) cublasLtDestroy(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
  }
  return *this;
}

// ---- cuBLASLt descriptors ----
LtMatmulDesc::LtMatmulDesc(cublasComputeType_t compute, cudaDataType_t scale) {
  FF_CUBLAS_CHECK(cublasLtMatmulDescCreate(&desc_, compute, scale));
}
LtMatmulDesc::~LtMatmulDesc() {
  if (desc_) cublasLtMatmulDescDestroy(desc_);
}
LtMatmulDesc& LtMatmulDesc::operator=(LtMatmulDesc&& other) noexcept {
  if (this != &other) {
    if (desc_) cublasLtMatmulDescDestroy(desc_);
    desc_ = std::exchange(other.desc_, nullptr);
  }
  return *this;
}

LtMatrixLayout::LtMatrixLayout(cudaDataType_t type, uint64_t rows, uint64_t cols, int64_t ld) {
  FF_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&layout_, type, rows, cols, ld));
}
LtMatrixLayout::~LtMatrixLayout() {
  if (layout_) cublasLtMatrixLayoutDestroy(layout_);
}
LtMatrixLayout& LtMatrixLayout::operator=(LtMatrixLayout&& other) noexcept {
  if (this != &other) {
    if (layout_) cublasLtMatrixLayoutDestroy(layout_);
    layout_ = std::exchange(other.layout_, nullptr);
  }
  return *this;
}

LtMatmulPreference::LtMatmulPreference() {
  FF_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference_));
}
LtMatmulPreference::~LtMatmulPreference() {
  if (preference_) cublasLtMatmulPreferenceDestroy(preference_);
}
LtMatmulPreference& LtMatmulPreference::operator=(LtMatmulPreference&& other) noexcept {
  if (this != &other) {
    if (preference_) cublasLtMatmulPreferenceDestroy(preference_);
    preference_ = std::exchange(other.preference_, nullptr);
  }
  return *this;
}

namespace {

// Memory nodes in a captured step mean something called cudaMallocAsync/cudaFreeAsync inside it:
// each replay would then allocate anew and the graph's addresses would not be the ones the step
// was planned with. Nothing in a step allocates today; this keeps it that way, loudly.
size_t memory_node_count(cudaGraph_t graph) {
  size_t count = 0;
  FF_CUDA_CHECK(cudaGraphGetNodes(graph, nullptr, &count));
  std::vector<cudaGraphNode_t> nodes(count);
  if (count > 0) FF_CUDA_CHECK(cudaGraphGetNodes(graph, nodes.data(), &count));
  size_t memory_nodes = 0;
  for (cudaGraphNode_t node : nodes) {
    cudaGraphNodeType type{};
    FF_CUDA_CHECK(cudaGraphNodeGetType(node, &type));
    if (type == cudaGraphNodeTypeMemAlloc || type == cudaGraphNodeTypeMemFree) ++memory_nodes;
  }
  return memory_nodes;
}

}  // namespace

Graph::Graph(cudaGraph_t graph) : graph_(graph) {
  if (const size_t memory_nodes = memory_node_count(graph_); memory_nodes > 0) {
    cudaGraphDestroy(graph_);
    graph_ = nullptr;
    throw InternalError("the captured training step allocates or frees device memory (" +
                        std::to_string(memory_nodes) +
                        " memory nodes); allocate in the issued first step instead, or use "
                        "--graphs off");
  }
  const cudaError_t status = cudaGraphInstantiate(&exec_, graph_, 0);
  if (status != cudaSuccess) {
    cudaGraphDestroy(graph_);
    graph_ = nullptr;
    throw_cuda_error(status, "cudaGraphInstantiate", __FILE__, __LINE__);
  }
}
Graph::~Graph() {
  if (exec_) FF_CUDA_REPORT(cudaGraphExecDestroy(exec_));
  if (graph_) FF_CUDA_REPORT(cudaGraphDestroy(graph_));
}
void Graph::launch(cudaStream_t stream) const { FF_CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }

}  // namespace ff::cuda
