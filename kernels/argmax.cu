// argmax: out[i] = argmax_c x[i*item_stride + c*class_stride], the first maximum on ties.
// Threads: one thread per item (grid-stride), scanning the classes in order with the CPU's exact
// comparison (value > best, best starting at -inf and class 0), so ties, NaNs and all--inf rows
// resolve exactly as on the CPU.
// Requirements: none; classes is small in the engine (labels of a task), so a sequential scan per
// item is the whole cost and needs no reduction.
#include <cmath>

#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void argmax_kernel(const float* x, int items, int classes, int item_stride,
                              int class_stride, int32_t* out) {
  for (size_t i = global_thread_index(); i < static_cast<size_t>(items);
       i += global_thread_count()) {
    int best = 0;
    float best_value = -INFINITY;
    for (int c = 0; c < classes; ++c) {
      const float value = x[i * item_stride + static_cast<size_t>(c) * class_stride];
      if (value > best_value) {
        best_value = value;
        best = c;
      }
    }
    out[i] = best;
  }
}

void launch_argmax(const float* x, int items, int classes, int item_stride, int class_stride,
                   int32_t* out, cudaStream_t stream) {
  if (items <= 0) return;
  argmax_kernel<<<element_blocks(static_cast<size_t>(items)), kElementThreads, 0, stream>>>(
      x, items, classes, item_stride, class_stride, out);
  FF_CHECK_LAUNCH("argmax_kernel", stream);
}

}  // namespace ff::kernels
