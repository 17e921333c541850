// Forward-Forward and backprop row ops: ff_loss_grad, peer_norm, goodness_score,
// rms_norm_relu_backward, argmax, softmax_xent, and the layer-1 reuse across labels
// (label_swap_forward, label_swap_weight_correction). Inputs of the goodness ops are multiples of
// 1/16 (quantized_floats), so every sum of squares and dot product is exact in fp32 in any order
// and the comparison checks the kernels' logic with tolerances of a few ulp (libm differences, FMA
// contraction), not summation order.
#include <cmath>
#include <string>

#include "op_inputs.hpp"
#include "op_table.hpp"

namespace ff::optable {

namespace {

// ReLU outputs, multiples of 1/16 in [0, 2.5]: sums of squares exact in fp32 (< 2^22 / 256).
std::vector<float> relu_outputs(size_t n, uint64_t seed) {
  std::vector<float> h = quantized_floats(n, seed, 7, -1.5f, 2.5f);
  for (float& v : h) v = v > 0.0f ? v : 0.0f;
  return h;
}

bool has(const std::string& variant, const char* word) {
  return variant.find(word) != std::string::npos;
}

void ff_loss_grad_case(OpCall& k, int pairs, int width, const std::string& variant, uint64_t seed) {
  FfLossSpec spec;
  spec.pairs = pairs;
  spec.width = width;
  spec.loss = variant.starts_with("symba") ? FfLossKind::kSymba : FfLossKind::kSoftplus;
  spec.goodness = has(variant, "mean") ? GoodnessMode::kMean : GoodnessMode::kSum;
  // E[h^2] ~ 1.3 for these inputs: put theta there so rows fall on both sides of it.
  spec.theta = spec.goodness == GoodnessMode::kSum ? 1.3f * width : 1.3f;
  const bool with_norm = has(variant, "norm");
  const int ld_norm = has(variant, "gap") ? width + 3 : width;
  const size_t size = 2 * static_cast<size_t>(pairs) * width;
  const float* h = k.input(relu_outputs(size, seed));
  // The goodness is exact on both sides; what differs is libm: expf/log1pf of the device (<= 2
  // ulp) vs glibc (<= 1 ulp) inside softplus/sigmoid. 2e-6 relative is ~16 ulp.
  float* dz = k.output("ff dz", poison(size), Tolerance::close(1e-30, 2e-6));
  float* loss = k.output("ff pair_loss", poison(pairs), Tolerance::close(1e-30, 2e-6));
  // Same exact sum, sqrtf and division are IEEE on both: only a contraction could differ.
  // Without h_norm it stays all-NaN (the op must not write it).
  float* norm = k.output("ff h_norm", poison(2 * static_cast<size_t>(pairs) * ld_norm),
                         Tolerance::close(0.0, 1e-6));
  float* norm_arg = with_norm ? norm : nullptr;
  Backend& b = k.backend();
  k.run = [&b, spec, h, dz, norm_arg, ld_norm, loss] {
    b.ff_loss_grad(spec, h, dz, norm_arg, ld_norm, loss);
  };
  k.flops = (with_norm ? 6.0 : 4.0) * size;
  k.bytes = 4.0 * (size * (with_norm ? 3 : 2) + pairs);
}

// Peer normalisation over `pairs` positives (and as many negatives, which it must not read) of
// `width` units. The column sums are exact (multiples of 1/16) and in the same row order on both;
// the running-mean update may contract to an FMA on one side (1 ulp). The mean of the running
// means is summed in another order on the GPU (a CUB tree against a serial sum): a few ulp of a
// mean ~0.75, i.e. up to ~1e-6 absolute, which every gradient term carries as
// g0 * 1e-6 (g0 = 2 lambda (1 - momentum) / (width * pairs), the gradient per unit of r_j - mean)
// whatever the dz it lands on; so dz's tolerance is absolute, 1e-5 g0, plus 1e-5 relative for
// the rounding of the addition. lambda is large so that the terms stand well above dz's rounding.
void peer_norm_case(OpCall& k, int pairs, int width, uint64_t seed) {
  PeerNormSpec spec;
  spec.pairs = pairs;
  spec.width = width;
  spec.lambda = 3.0f;
  const size_t size = 2 * static_cast<size_t>(pairs) * width;
  std::vector<float> rows = relu_outputs(size, seed);
  // The negatives' rows as NaN: a kernel that reads them poisons the means.
  for (size_t i = static_cast<size_t>(pairs) * width; i < size; ++i) rows[i] = kNaN;
  const float* h = k.input(rows);
  float* running = k.output("peer running mean", quantized_floats(width, seed, 8, 0.0f, 1.5f),
                            Tolerance::close(1e-7, 1e-6));
  const double g0 =
      2.0 * spec.lambda * (1.0 - spec.momentum) / (static_cast<double>(width) * pairs);
  float* dz = k.output("peer dz", random_floats(size, seed, 9, -1e-6f, 1e-6f),
                       Tolerance::close(1e-5 * g0, 1e-5));
  Backend& b = k.backend();
  k.run = [&b, spec, h, running, dz] { b.peer_norm(spec, h, running, dz); };
  k.flops = 3.0 * pairs * width + 4.0 * width;
  k.bytes = 4.0 * (3.0 * pairs * width + 2.0 * width);
}

void goodness_score_case(OpCall& k, int rows, int cols, const std::string& variant, uint64_t seed) {
  const bool accumulate = has(variant, "acc");
  const GoodnessMode mode = has(variant, "mean") ? GoodnessMode::kMean : GoodnessMode::kSum;
  const float theta = mode == GoodnessMode::kSum ? 1.3f * cols : 1.3f;
  const float* h = k.input(relu_outputs(static_cast<size_t>(rows) * cols, seed));
  // Exact sums, then the same IEEE subtraction/division/addition: bit-identical is expected;
  // 1e-6 relative (~8 ulp) only absorbs a contraction.
  float* scores =
      k.output("goodness_score", accumulate ? random_floats(rows, seed, 2, -5, 5) : poison(rows),
               Tolerance::close(0.0, 1e-6));
  Backend& b = k.backend();
  k.run = [&b, h, rows, cols, theta, mode, scores, accumulate] {
    b.goodness_score(h, rows, cols, theta, mode, scores, accumulate);
  };
  k.flops = 2.0 * rows * cols;
  k.bytes = 4.0 * rows * cols + 8.0 * rows;
}

void rms_norm_relu_backward_case(OpCall& k, int rows, int cols, bool accumulate, uint64_t seed) {
  const size_t size = static_cast<size_t>(rows) * cols;
  const float* h = k.input(relu_outputs(size, seed));
  const float* g = k.input(quantized_floats(size, seed, 3, -1.0f, 1.0f));  // exact dot(g, h)
  // Exact sums give both sides the same two scalars; s*g - c*h may be contracted into an FMA on
  // one side only, a difference of ~1 ulp of the larger product (both O(1) here) that survives
  // cancellation: hence an absolute 1e-6 (~8 ulp of 1) next to 1e-6 relative.
  float* dz = k.output("rms_norm_relu_backward",
                       accumulate ? random_floats(size, seed, 4, -1, 1) : poison(size),
                       Tolerance::close(1e-6, 1e-6));
  Backend& b = k.backend();
  k.run = [&b, h, g, rows, cols, dz, accumulate] {
    b.rms_norm_relu_backward(h, g, rows, cols, dz, accumulate);
  };
  k.flops = 8.0 * size;
  k.bytes = 4.0 * size * (accumulate ? 4 : 3);
  // A one-element row's norm is constant (+-1): the gradient through it is zero.
  k.may_leave_outputs = accumulate && cols == 1;
}

void argmax_case(OpCall& k, int items, int classes, bool class_major, uint64_t seed) {
  // class_major: the slow classifier's [C x B] scores.
  const int item_stride = class_major ? 1 : classes, class_stride = class_major ? items : 1;
  // Values in {0, 1, 2, 3}: most items have tied maxima, which must resolve to the first.
  std::vector<float> x = random_floats(static_cast<size_t>(items) * classes, seed, 1, 0, 3);
  for (float& v : x) v = std::round(v);
  const float* scores = k.input(x);
  int32_t* out = k.output("argmax", std::vector<int32_t>(items, -7));  // indices: exact
  Backend& b = k.backend();
  k.run = [&b, scores, items, classes, item_stride, class_stride, out] {
    b.argmax(scores, items, classes, item_stride, class_stride, out);
  };
  k.bytes = 4.0 * items * classes + 4.0 * items;
}

void softmax_xent_case(OpCall& k, int rows, int classes, bool with_grad, uint64_t seed) {
  const float grad_scale = 1.0f / static_cast<float>(rows);
  const size_t size = static_cast<size_t>(rows) * classes;
  const float* logits = k.input(random_floats(size, seed, 1, -4, 4));
  const int32_t* labels = k.input(random_ints(rows, seed, 2, classes));
  // The sum of `classes` exponentials is added in a different order (warp tree vs sequential):
  // relative error <= classes * 2^-24 worst case, which log() turns into the same absolute error
  // on the loss and on every log-probability; plus a few ulp of expf/logf.
  const double order = 2e-7 * classes + 1e-6;
  float* loss = k.output("softmax row_loss", poison(rows), Tolerance::close(order, 1e-5));
  float* dlogits =
      k.output("softmax dlogits", poison(size), Tolerance::close(order * grad_scale, 1e-5));
  float* grad = with_grad ? dlogits : nullptr;
  Backend& b = k.backend();
  k.run = [&b, logits, labels, rows, classes, grad_scale, grad, loss] {
    b.softmax_xent(logits, labels, rows, classes, grad_scale, grad, loss);
  };
  k.flops = 5.0 * size;
  k.bytes = 4.0 * size * (with_grad ? 2 : 1) + 8.0 * rows;
}

// rows x in normalised inputs: random values, then the label columns: 0 everywhere except s at
// the row's label; one row in num_labels + 1 carries no label at all.
std::vector<float> labelled_rows(int rows, int in, int num_labels, uint64_t seed) {
  std::vector<float> x = random_floats(static_cast<size_t>(rows) * in, seed, 1, -1, 1);
  const std::vector<int32_t> labels = random_ints(rows, seed, 2, num_labels + 1);
  const std::vector<float> scale = random_floats(rows, seed, 3, 0.5f, 2.0f);
  for (int r = 0; r < rows; ++r) {
    float* row = x.data() + static_cast<size_t>(r) * in;
    for (int c = 0; c < num_labels; ++c) row[c] = 0.0f;
    if (labels[r] < num_labels) row[labels[r]] = scale[r];
  }
  return x;
}

void label_swap_forward_case(OpCall& k, int ref_rows, int groups, int in, int out, int labels,
                             uint64_t seed) {
  const int rows = ref_rows * groups;
  const float* z = k.input(random_floats(static_cast<size_t>(ref_rows) * out, seed, 4, -1, 1));
  const float* xn = k.input(labelled_rows(rows, in, labels, seed));
  const float* w = k.input(random_floats(static_cast<size_t>(out) * in, seed, 5, -1, 1));
  // z + s_row w - s_ref w with O(1) terms: either side may contract a product into an FMA,
  // ~1 ulp of a term each time, which survives cancellation: 1e-6 absolute (~8 ulp of 1).
  float* h = k.output("label_swap_forward", poison(static_cast<size_t>(rows) * out),
                      Tolerance::close(1e-6, 1e-6));
  Backend& b = k.backend();
  k.run = [&b, z, xn, ref_rows, groups, in, out, labels, w, h] {
    b.label_swap_forward(z, xn, ref_rows, groups, in, out, labels, w, h);
  };
  k.flops = 4.0 * rows * out;
  k.bytes = 4.0 * (static_cast<double>(rows) * out + static_cast<double>(ref_rows) * out +
                   static_cast<double>(rows) * labels);
}

void label_swap_weight_correction_case(OpCall& k, int batch, int in, int out, int labels,
                                       uint64_t seed) {
  const float* xn = k.input(labelled_rows(2 * batch, in, labels, seed));
  const float* dz = k.input(random_floats(static_cast<size_t>(batch) * out, seed, 4, -1, 1));
  // The same additions in the same order; each of the 2*batch updates of an element may round
  // differently by 1 ulp (FMA contraction) of a value of size <~ sqrt(batch): 1e-6 * batch.
  float* grad = k.output("label_swap_weight_correction",
                         random_floats(static_cast<size_t>(out) * in, seed, 5, -1, 1),
                         Tolerance::close(1e-6 * batch, 1e-6));
  Backend& b = k.backend();
  k.run = [&b, xn, dz, batch, in, out, labels, grad] {
    b.label_swap_weight_correction(xn, dz, batch, in, out, labels, grad);
  };
  k.flops = 4.0 * batch * out;
  k.bytes = 4.0 * (static_cast<double>(batch) * out + 2.0 * out * labels);
}

std::string rc(int rows, int cols, const std::string& variant, uint64_t seed) {
  return std::to_string(rows) + "x" + std::to_string(cols) + "_" + variant + "_seed" +
         std::to_string(seed);
}

}  // namespace

void add_ff_cases(std::vector<OpCase>& cases, bool bench) {
  auto add = [&](const std::string& op, const std::string& label, std::function<void(OpCall&)> f) {
    cases.push_back({op, label, std::move(f)});
  };
  auto swap_label = [](int a, int groups, int in, int out, int labels, uint64_t seed) {
    return std::to_string(a) + "x" + std::to_string(groups) + "_in" + std::to_string(in) + "_out" +
           std::to_string(out) + "_labels" + std::to_string(labels) + "_seed" +
           std::to_string(seed);
  };
  if (bench) {
    // The default network: 100 pairs of 2000 units; the slow evaluation's 10000 candidate rows;
    // 1000 images x 10 labels; the bp-ce head's 100 x 10 logits; layer-1 reuse over the batch
    // (2 groups) and over a slow-evaluation chunk (10 groups).
    add("ff_loss_grad", rc(100, 2000, "softplus_sum_norm", 1),
        [](OpCall& k) { ff_loss_grad_case(k, 100, 2000, "softplus_sum_norm", 1); });
    add("peer_norm", rc(100, 2000, "positives", 1),
        [](OpCall& k) { peer_norm_case(k, 100, 2000, 1); });
    add("goodness_score", rc(10000, 2000, "sum", 1),
        [](OpCall& k) { goodness_score_case(k, 10000, 2000, "sum", 1); });
    add("rms_norm_relu_backward", rc(200, 2000, "overwrite", 1),
        [](OpCall& k) { rms_norm_relu_backward_case(k, 200, 2000, false, 1); });
    add("argmax", rc(1000, 10, "class_major", 1),
        [](OpCall& k) { argmax_case(k, 1000, 10, true, 1); });
    add("softmax_xent", rc(100, 10, "grad", 1),
        [](OpCall& k) { softmax_xent_case(k, 100, 10, true, 1); });
    add("label_swap_forward", swap_label(100, 2, 784, 2000, 10, 1),
        [](OpCall& k) { label_swap_forward_case(k, 100, 2, 784, 2000, 10, 1); });
    add("label_swap_forward", swap_label(1000, 10, 784, 2000, 10, 1),
        [](OpCall& k) { label_swap_forward_case(k, 1000, 10, 784, 2000, 10, 1); });
    add("label_swap_weight_correction", swap_label(100, 2, 784, 2000, 10, 1),
        [](OpCall& k) { label_swap_weight_correction_case(k, 100, 784, 2000, 10, 1); });
    return;
  }
  const int layer_shapes[][2] = {{1, 1},   {1, 7},     {3, 255}, {5, 256},
                                 {7, 257}, {16, 2000}, {100, 64}};
  for (const auto& s : layer_shapes) {
    const int rows = s[0], cols = s[1];
    for (uint64_t seed : {1u, 2u}) {
      for (const char* v :
           {"softplus_sum_norm", "softplus_mean", "symba_sum_norm_gap", "symba_mean"}) {
        const std::string variant = v;
        add("ff_loss_grad", rc(rows, cols, variant, seed),
            [=](OpCall& k) { ff_loss_grad_case(k, rows, cols, variant, seed); });
      }
      add("peer_norm", rc(rows, cols, "positives", seed),
          [=](OpCall& k) { peer_norm_case(k, rows, cols, seed); });
      for (const char* v : {"sum", "mean_acc"}) {
        const std::string variant = v;
        add("goodness_score", rc(rows, cols, variant, seed),
            [=](OpCall& k) { goodness_score_case(k, rows, cols, variant, seed); });
      }
      for (bool accumulate : {false, true}) {
        add("rms_norm_relu_backward", rc(rows, cols, accumulate ? "accumulate" : "overwrite", seed),
            [=](OpCall& k) { rms_norm_relu_backward_case(k, rows, cols, accumulate, seed); });
      }
    }
  }
  const int class_shapes[][2] = {{1, 1}, {7, 2}, {33, 10}, {100, 10}, {5, 24}, {3, 257}, {1000, 4}};
  for (const auto& s : class_shapes) {
    const int rows = s[0], cols = s[1];
    for (uint64_t seed : {1u, 2u}) {
      for (bool class_major : {false, true}) {
        add("argmax", rc(rows, cols, class_major ? "class_major" : "row_major", seed),
            [=](OpCall& k) { argmax_case(k, rows, cols, class_major, seed); });
      }
      for (bool grad : {true, false}) {
        add("softmax_xent", rc(rows, cols, grad ? "grad" : "loss_only", seed),
            [=](OpCall& k) { softmax_xent_case(k, rows, cols, grad, seed); });
      }
    }
  }
  // (ref_rows or batch, groups, in, out, num_labels): 1s, odd sizes, a unit count that is not a
  // multiple of the 256-thread block, batches over one 256-sample label tile, MNIST-like 784 + 10.
  const int swap_shapes[][5] = {{1, 2, 3, 1, 2},      {7, 2, 30, 33, 10},
                                {13, 4, 40, 257, 24}, {100, 2, 794, 64, 10},
                                {300, 2, 50, 300, 4}, {5, 10, 784, 2000, 10}};
  for (const auto& s : swap_shapes) {
    for (uint64_t seed : {1u, 2u}) {
      add("label_swap_forward", swap_label(s[0], s[1], s[2], s[3], s[4], seed),
          [=](OpCall& k) { label_swap_forward_case(k, s[0], s[1], s[2], s[3], s[4], seed); });
      add("label_swap_weight_correction", swap_label(s[0], s[1], s[2], s[3], s[4], seed),
          [=](OpCall& k) { label_swap_weight_correction_case(k, s[0], s[2], s[3], s[4], seed); });
    }
  }
}

}  // namespace ff::optable
