// NVTX ranges (RAII) so Nsight Systems shows pretraining, evaluation and probing by name. Usable
// from any layer: the range is implemented in core (src/core/nvtx.cpp), which calls NVTX in a
// build with CUDA and does nothing otherwise. NVTX is header-only and loads its profiler hook only
// when a profiler is attached, so it adds no library a CPU run would have to find.
//
//   { ff::NvtxRange range("epoch"); ... }      // "epoch" spans the block in the timeline
#pragma once

namespace ff {

class NvtxRange {
 public:
  // NVTX copies `name` during the push, so a temporary std::string's c_str() is fine.
  explicit NvtxRange(const char* name);
  ~NvtxRange();
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
  NvtxRange(NvtxRange&&) = delete;  // a range is tied to its scope; moving it would mis-nest
  NvtxRange& operator=(NvtxRange&&) = delete;
};

}  // namespace ff
