// The launchers of every CUDA kernel of the engine: one launch_<op> per kernels/<op>.cu, each
// enqueuing exactly one kernel on the given stream (nothing on the default stream) and checking
// the launch (FF_CHECK_LAUNCH). Pointers are device memory; semantics, layouts and argument
// meanings are those of the op of the same name in ff::Backend (include/ff/backend.hpp) and its
// CPU reference (src/cpu). A launcher with nothing to do (zero rows/elements) launches nothing.
// Host-compilable (no device code), so src/cuda/*.cpp includes it.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "ff/math.hpp"
#include "ff/ops.hpp"

namespace ff::kernels {

void launch_fill(float* x, size_t n, float value, cudaStream_t stream);

// Throws ff::Error where the CPU reference does (unsupervised task: plane > 32x32 or < 2 images).
void launch_prepare_batch(const BatchSpec& spec, float* out, int32_t* task_labels,
                          cudaStream_t stream);

void launch_rms_norm(const float* in, int rows, int cols, float* out, int ld_out,
                     cudaStream_t stream);

// The GEMM epilogue for the cuBLAS fallback path: column-major C[m x n] (ldc) += bias[row],
// then ReLU when `relu`.
void launch_bias_act(float* c, int m, int n, int ldc, const float* bias, bool relu,
                     cudaStream_t stream);

void launch_gather_rows(const float* src, int ld_src, const int32_t* indices, int rows, int cols,
                        float* dst, cudaStream_t stream);

void launch_column_sum(const float* x, int rows, int cols, float* out, float beta,
                       cudaStream_t stream);

void launch_ff_loss_grad(const FfLossSpec& spec, const float* h, float* dz, float* h_norm,
                         int ld_norm, float* pair_loss, cudaStream_t stream);

// Layer-1 reuse across labels (ff/batch_prep.hpp).
void launch_label_swap_forward(const float* z_ref, const float* xn, int ref_rows, int groups,
                               int in, int out, int num_labels, const float* weight, float* h,
                               cudaStream_t stream);
void launch_label_swap_weight_correction(const float* xn, const float* dz_neg, int batch, int in,
                                         int out, int num_labels, float* weight_grad,
                                         cudaStream_t stream);
void launch_add(const float* a, const float* b, size_t n, float* out, cudaStream_t stream);

// Backprop baselines: dz (+)= [h > 0] * (d norm(h) / d h)^T g, row by row.
void launch_rms_norm_relu_backward(const float* h, const float* g, int rows, int cols, float* dz,
                                   bool accumulate, cudaStream_t stream);

// Peer normalisation (ff/ops.hpp: PeerNormSpec): two kernels, the running means then dz.
void launch_peer_norm(const PeerNormSpec& spec, const float* h, float* running_mean, float* dz,
                      cudaStream_t stream);

// --negatives hard: the negative label of each sample of the batch at spec's cursor.
void launch_hard_negative_labels(const BatchSpec& spec, const float* logits, int classes,
                                 int32_t* out, cudaStream_t stream);

void launch_goodness_score(const float* h, int rows, int width, float theta, GoodnessMode mode,
                           float* scores, bool accumulate, cudaStream_t stream);

void launch_argmax(const float* x, int items, int classes, int item_stride, int class_stride,
                   int32_t* out, cudaStream_t stream);

void launch_softmax_xent(const float* logits, const int32_t* labels, int rows, int classes,
                         float grad_scale, float* dlogits, float* row_loss, cudaStream_t stream);

void launch_sum_into(const float* x, int n, float* acc, cudaStream_t stream);

void launch_count_equal(const int32_t* a, const int32_t* b, int n, int64_t* acc,
                        cudaStream_t stream);

// The constants: adam_scalars(spec) on the host, or the spec's schedule at its cursor.
void launch_adam(const AdamSpec& spec, float* params, const float* grads, float* m, float* v,
                 size_t n, cudaStream_t stream);
void launch_advance_cursor(StepCursor* cursor, cudaStream_t stream);

// --precision bf16: dst[i] = bf16_bits_of(src[i]) for i < n (ff/math.hpp, the CPU's rounding).
void launch_convert_to_bf16(const float* src, size_t n, uint16_t* dst, cudaStream_t stream);

void launch_sgd_momentum(float lr, float momentum, float* params, const float* grads,
                         float* velocity, size_t n, cudaStream_t stream);

}  // namespace ff::kernels
