// NVTX behind ff::NvtxRange: the one place the engine outside the CUDA backend touches NVTX.
#include "ff/nvtx.hpp"

#ifdef FF_HAVE_NVTX
#include <nvtx3/nvToolsExt.h>
#endif

namespace ff {

NvtxRange::NvtxRange(const char* name) {
#ifdef FF_HAVE_NVTX
  nvtxRangePushA(name);
#else
  (void)name;
#endif
}

NvtxRange::~NvtxRange() {
#ifdef FF_HAVE_NVTX
  nvtxRangePop();
#endif
}

}  // namespace ff
