// prepare_batch: gather + task transform + scale to [0,1] + label embedding (and, for the
// unsupervised task, the hybrid negatives) in one kernel.
// Threads: one block of kRowThreads per output row (grid.x = batch_rows(spec)). Thread 0 draws the
// sample's randomness once with draw_for_batch() (ff/batch_prep.hpp) into shared memory; then the
// block's threads stride over the row's channels*height*width values, each calling batch_value():
// the functions the CPU reference calls, so both backends write bit-identical rows (integer index
// maps and one float multiply by 1/255).
// Hybrid negative rows (unsupervised task, rows B..2B-1): the block builds the sample's mask in
// shared memory with the shared pieces of hybrid_mask(), one pixel per thread per step: random
// bits, then kHybridBlurPasses x (horizontal taps, barrier, vertical taps, barrier), then the
// 0.5 threshold at the point of use. The blur is exact in fp32 (values are multiples of 2^-24 in
// [0, 1]), so the mask equals the CPU's bit for bit whatever the evaluation order or FMA use.
// A spec with a cursor (a captured training step) is resolved in the kernel with at_cursor().
// Requirements: rows < 2^31; device pointers; any alignment; the unsupervised task needs
// height*width <= kMaxHybridPlane (the shared mask) and >= 2 images, checked on the host like the
// CPU does. Writes are coalesced; reads of the uint8 image follow the transform's index map.
#include "common.cuh"
#include "ff/batch_prep.hpp"
#include "ff/error.hpp"
#include "launch.cuh"

namespace ff::kernels {

// The hybrid negative of dataset row `index` into y: mask ? own pixel : partner's pixel.
__device__ void write_hybrid_row(const BatchSpec& spec, const uint8_t* image, uint32_t index,
                                 float* y) {
  __shared__ float mask[kMaxHybridPlane], scratch[kMaxHybridPlane];
  const int height = spec.height, width = spec.width, plane = height * width;
  for (int p = threadIdx.x; p < plane; p += blockDim.x) {
    mask[p] = hybrid_random_bit(spec.seed, spec.epoch, index, p);
  }
  __syncthreads();
  for (int pass = 0; pass < kHybridBlurPasses; ++pass) {
    for (int p = threadIdx.x; p < plane; p += blockDim.x) {
      scratch[p] = blur_tap(mask, height, width, p / width, p % width, true);
    }
    __syncthreads();
    for (int p = threadIdx.x; p < plane; p += blockDim.x) {
      mask[p] = blur_tap(scratch, height, width, p / width, p % width, false);
    }
    __syncthreads();
  }
  const uint32_t partner = hybrid_partner(spec.seed, spec.epoch, index, spec.dataset_count);
  const uint8_t* other = spec.images + static_cast<size_t>(partner) * spec.channels * plane;
  const int values = spec.channels * plane;
  for (int at = threadIdx.x; at < values; at += blockDim.x) {
    y[at] = static_cast<float>(mask[at % plane] > 0.5f ? image[at] : other[at]) * (1.0f / 255.0f);
  }
}

__global__ void prepare_batch_kernel(BatchSpec batch_spec, float* out, int32_t* task_labels) {
  // Every thread resolves the cursor itself (a broadcast read of 16 bytes): no barrier needed.
  const BatchSpec spec = at_cursor(batch_spec);
  __shared__ SampleDraw draw;
  __shared__ int label;
  const int row = blockIdx.x;
  const int sample = row % spec.batch;
  const auto index = static_cast<uint32_t>(spec.indices[sample]);
  if (threadIdx.x == 0) {
    draw = draw_for_batch(spec, sample, index);
    label = row_label(spec.mode, spec.batch, row, draw);
    if (task_labels != nullptr && row < spec.batch)
      task_labels[row] = output_label(spec, index, draw);
  }
  __syncthreads();
  const int pixels = spec.channels * spec.height * spec.width;
  const uint8_t* image = spec.images + static_cast<size_t>(index) * pixels;
  float* y = out + static_cast<size_t>(row) * pixels;
  // Uniform per block (depends on the row only), so the barriers inside are reached by all.
  if (spec.task == Task::kUnsupervised && spec.mode == LabelMode::kPositiveNegative &&
      row >= spec.batch) {
    write_hybrid_row(spec, image, index, y);
    return;
  }
  const SampleDraw my_draw = draw;
  const int my_label = label;
  for (int p = threadIdx.x; p < pixels; p += blockDim.x) {
    y[p] = batch_value(spec, image, my_draw, my_label, p);
  }
}

void launch_prepare_batch(const BatchSpec& spec, float* out, int32_t* task_labels,
                          cudaStream_t stream) {
  if (spec.task == Task::kUnsupervised) {
    // The CPU reference's check and message, word for word.
    require(spec.height * spec.width <= kMaxHybridPlane && spec.dataset_count >= 2,
            "the unsupervised task needs images of at most 32x32 and at least 2 of them");
  }
  const int rows = batch_rows(spec);
  if (rows <= 0 || spec.batch <= 0) return;
  prepare_batch_kernel<<<rows, kRowThreads, 0, stream>>>(spec, out, task_labels);
  FF_CHECK_LAUNCH("prepare_batch_kernel", stream);
}

}  // namespace ff::kernels
