#include "gemm_recorder.hpp"

#include <utility>

namespace ff {

void GemmRecorder::start_recording() {
  recorded_.clear();
  recording_ = true;
}

std::vector<RecordedGemm> GemmRecorder::stop_recording() {
  recording_ = false;
  return std::exchange(recorded_, {});
}

bool GemmRecorder::is_live(const void* ptr, size_t bytes) const {
  const char* begin = static_cast<const char*>(ptr);
  auto after = live_.upper_bound(begin);
  if (after == live_.begin()) return false;
  const auto& [start, size] = *std::prev(after);
  return begin + bytes <= start + size;
}

void* GemmRecorder::allocate(size_t bytes) {
  void* ptr = inner_.allocate(bytes);
  live_[static_cast<const char*>(ptr)] = bytes;
  return ptr;
}

void GemmRecorder::deallocate(void* ptr) noexcept {
  live_.erase(static_cast<const char*>(ptr));
  inner_.deallocate(ptr);
}

void GemmRecorder::gemm(const GemmDesc& desc, const float* a, const float* b, float* c,
                        Epilogue epilogue, const float* bias) {
  if (recording_) recorded_.push_back({desc, a, b, c, epilogue, bias});
  inner_.gemm(desc, a, b, c, epilogue, bias);
}

}  // namespace ff
