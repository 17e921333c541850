// NVTX ranges (RAII) so Nsight Systems shows pretraining, evaluation and probing by name
// (docs/layout.md). Usable from any source of the engine: in a build without CUDA the range is
// an empty object and costs nothing. NVTX itself is a no-op unless a profiler is attached.
//
//   { ff::NvtxRange range("epoch"); ... }      // "epoch" spans the block in the timeline
#pragma once

#ifdef FF_HAVE_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace ff {

class NvtxRange {
 public:
  // NVTX copies `name` during the push, so a temporary std::string's c_str() is fine.
  explicit NvtxRange(const char* name) {
#ifdef FF_HAVE_CUDA
    nvtxRangePushA(name);
#else
    (void)name;
#endif
  }
  ~NvtxRange() {
#ifdef FF_HAVE_CUDA
    nvtxRangePop();
#endif
  }
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
  NvtxRange(NvtxRange&&) = delete;  // a range is tied to its scope; moving it would mis-nest
  NvtxRange& operator=(NvtxRange&&) = delete;
};

}  // namespace ff
