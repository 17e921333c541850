// hard_negative_labels: out[i] = hard_negative_for(spec, logits, classes, i) (ff/batch_prep.hpp),
// the function the CPU reference calls: the same Philox word and the same double-precision
// sampling, so both backends pick the same label from the same logits.
// Threads: one per sample (grid-stride over the batch); a batch is small (100-1000), the loop over
// the classes is short (10). A spec with a cursor (a captured step) is resolved here with
// at_cursor(), as prepare_batch does.
// Requirements: logits [batch x classes] and out [batch] device memory; classes >= 2.
#include "common.cuh"
#include "ff/batch_prep.hpp"
#include "launch.cuh"

namespace ff::kernels {

__global__ void hard_negative_labels_kernel(BatchSpec batch_spec, const float* logits, int classes,
                                            int32_t* out) {
  const BatchSpec spec = at_cursor(batch_spec);
  for (size_t i = global_thread_index(); i < static_cast<size_t>(spec.batch);
       i += global_thread_count()) {
    out[i] = hard_negative_for(spec, logits, classes, static_cast<int>(i));
  }
}

void launch_hard_negative_labels(const BatchSpec& spec, const float* logits, int classes,
                                 int32_t* out, cudaStream_t stream) {
  if (spec.batch <= 0) return;
  hard_negative_labels_kernel<<<element_blocks(static_cast<size_t>(spec.batch)), kElementThreads, 0,
                                stream>>>(spec, logits, classes, out);
  FF_CHECK_LAUNCH("hard_negative_labels_kernel", stream);
}

}  // namespace ff::kernels
