#include "chunked_forward.hpp"

#include <algorithm>

#include "eval_helpers.hpp"

namespace ff {

void run_chunked_forward(Backend& backend, const Mlp& network, const ResidentSplit& split,
                         const TaskShape& shape, const ForwardPlan& plan,
                         const ForwardHooks& hooks) {
  const int chunk = static_cast<int>(std::min<size_t>(plan.eval_batch, split.count));
  const int rows_per_image = plan.mode == LabelMode::kAllCandidates      ? shape.num_labels
                             : plan.mode == LabelMode::kPositiveNegative ? 2
                                                                         : 1;
  const size_t max_rows = static_cast<size_t>(rows_per_image) * chunk;
  const int widest = max_width(network);
  const Array<int32_t> indices = iota_indices(backend, split.count);
  Array<float> input(backend, max_rows * network.in_width(0));
  Array<float> xn(backend, max_rows * widest), h(backend, max_rows * widest);
  Array<int32_t> task_labels(backend, plan.task_labels ? chunk : 0);
  int32_t* const labels_out = plan.task_labels ? task_labels.data() : nullptr;
  const bool reuse = plan.reuse_layer1 && plan.mode == LabelMode::kAllCandidates;
  Array<float> layer1_reference(backend,
                                reuse ? static_cast<size_t>(chunk) * network.out_width(0) : 0);

  BatchSpec spec = base_batch_spec(split, shape);
  spec.mode = plan.mode;
  spec.seed = plan.seed;
  spec.apply_transform = plan.apply_transform;
  for (size_t start = 0; start < split.count; start += chunk) {
    ForwardChunk current;
    current.start = start;
    current.images = static_cast<int>(std::min<size_t>(chunk, split.count - start));
    current.rows = rows_per_image * current.images;
    current.task_labels = labels_out;
    spec.batch = current.images;
    spec.indices = indices.data() + start;
    backend.prepare_batch(spec, input.data(), labels_out);
    backend.rms_norm(input.data(), current.rows, network.in_width(0), xn.data(),
                     network.in_width(0));
    if (hooks.begin_chunk) hooks.begin_chunk(current);
    for (int l = 0; l <= plan.last_layer; ++l) {
      const int in = network.in_width(l), out = network.out_width(l);
      if (l == 0 && reuse) {
        // The C candidate rows of an image differ only in their label.
        backend.gemm(linear_forward_desc(current.images, in, out), network.weight(0), xn.data(),
                     layer1_reference.data(), Epilogue::kBias, network.bias(0));
        backend.label_swap_forward(layer1_reference.data(), xn.data(), current.images,
                                   shape.num_labels, in, out, shape.num_labels, network.weight(0),
                                   h.data());
      } else {
        backend.gemm(linear_forward_desc(current.rows, in, out), network.weight(l), xn.data(),
                     h.data(), Epilogue::kBiasRelu, network.bias(l));
      }
      if (hooks.after_layer) hooks.after_layer(current, l, h.data());
      if (l < plan.last_layer || plan.normalise_last) {
        backend.rms_norm(h.data(), current.rows, out, xn.data(), out);
      }
    }
    current.xn = xn.data();
    if (hooks.end_chunk) hooks.end_chunk(current);
  }
}

}  // namespace ff
