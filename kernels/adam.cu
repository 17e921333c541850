// adam: one launch over n parameters (an FF layer's, or a whole network's): adam_element()
// (ff/math.hpp, the CPU's function) per element, with the bias corrections folded into
// AdamScalars on the host once per step; with a schedule (a captured step), this step's
// AdamScalars are read from it at the cursor.
// Threads: grid-stride, one element per thread per pass (size_t index: up to a whole network's
// parameters in one buffer). Requirements: none; params/grads/m/v have n elements.
#include "common.cuh"
#include "launch.cuh"

namespace ff::kernels {

__global__ void adam_kernel(AdamScalars direct, const AdamScalars* schedule,
                            const StepCursor* cursor, float* params, const float* grads, float* m,
                            float* v, size_t n) {
  const AdamScalars scalars = scheduled_adam_scalars(direct, schedule, cursor);
  for (size_t i = global_thread_index(); i < n; i += global_thread_count()) {
    adam_element(scalars, grads[i], &params[i], &m[i], &v[i]);
  }
}

void launch_adam(const AdamSpec& spec, float* params, const float* grads, float* m, float* v,
                 size_t n, cudaStream_t stream) {
  if (n == 0) return;
  adam_kernel<<<element_blocks(n), kElementThreads, 0, stream>>>(
      direct_adam_scalars(spec), spec.schedule, spec.cursor, params, grads, m, v, n);
  FF_CHECK_LAUNCH("adam_kernel", stream);
}

// advance_cursor: cursor->step += 1, one thread (the step's last op, so a replayed step moves on).
__global__ void advance_cursor_kernel(StepCursor* cursor) { cursor->step += 1; }

void launch_advance_cursor(StepCursor* cursor, cudaStream_t stream) {
  advance_cursor_kernel<<<1, 1, 0, stream>>>(cursor);
  FF_CHECK_LAUNCH("advance_cursor_kernel", stream);
}

}  // namespace ff::kernels
