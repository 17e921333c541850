// Parameter layout, He initialisation and the optimiser wrapper.
#include "ff/network.hpp"

#include <cmath>
#include <string>
#include <utility>

#include "ff/error.hpp"
#include "ff/math.hpp"
#include "ff/philox.hpp"

namespace ff {

std::vector<float> init_parameters(const std::vector<int>& dims, uint64_t seed) {
  size_t total = 0;
  for (size_t l = 0; l + 1 < dims.size(); ++l) {
    total += static_cast<size_t>(dims[l]) * dims[l + 1] + dims[l + 1];
  }
  std::vector<float> params(total, 0.0f);
  size_t offset = 0;
  for (size_t l = 0; l + 1 < dims.size(); ++l) {
    const size_t weights = static_cast<size_t>(dims[l]) * dims[l + 1];
    const double stddev = std::sqrt(2.0 / dims[l]);
    // Box-Muller: each Philox block of four words gives four normals.
    for (size_t i = 0; i < weights; i += 4) {
      const Philox4 w = random_words(seed, l, static_cast<uint32_t>(i / 4), RandomPurpose::kInit);
      for (size_t pair = 0; pair < 2; ++pair) {
        const double radius = std::sqrt(-2.0 * std::log(uniform_float(w.v[2 * pair])));
        const double angle = 6.283185307179586 * uniform_float(w.v[2 * pair + 1]);
        if (i + 2 * pair < weights) {
          params[offset + i + 2 * pair] = static_cast<float>(radius * std::cos(angle) * stddev);
        }
        if (i + 2 * pair + 1 < weights) {
          params[offset + i + 2 * pair + 1] = static_cast<float>(radius * std::sin(angle) * stddev);
        }
      }
    }
    offset += weights + dims[l + 1];  // biases stay 0
  }
  return params;
}

Mlp::Mlp(Backend& backend, std::vector<int> dims, uint64_t seed) : dims_(std::move(dims)) {
  size_t total = 0;
  for (int l = 0; l < num_layers(); ++l) {
    offsets_.push_back(total);
    total += weight_count(l) + dims_[l + 1];
  }
  params_ = Array<float>(backend, init_parameters(dims_, seed));
  grads_ = Array<float>(backend, total);
  backend.fill(grads_.data(), total, 0.0f);
}

Optimizer::Optimizer(Backend& backend, size_t count, OptimizerKind kind, float lr, float momentum)
    : backend_(&backend),
      kind_(kind),
      lr_(lr),
      momentum_(momentum),
      m_(backend, count),
      v_(backend, kind_ == OptimizerKind::kAdam ? count : 0) {
  backend.fill(m_.data(), m_.size(), 0.0f);
  if (v_.size()) backend.fill(v_.data(), v_.size(), 0.0f);
}

void Optimizer::step(Array<float>& params, const Array<float>& grads) {
  ++step_;
  AdamSpec spec;
  spec.lr = lr_;
  spec.step = step_;
  enqueue(spec, params, grads, 0, params.size());
}

void Optimizer::enqueue_scheduled_step(Array<float>& params, const Array<float>& grads,
                                       const AdamScalars* schedule, const StepCursor* cursor) {
  enqueue_scheduled_range(params, grads, schedule, cursor, 0, params.size());
}

void Optimizer::enqueue_scheduled_range(Array<float>& params, const Array<float>& grads,
                                        const AdamScalars* schedule, const StepCursor* cursor,
                                        size_t first, size_t count) {
  check_invariant(first + count <= params.size() && params.size() == m_.size(),
                  "optimiser range outside its parameters");
  AdamSpec spec;
  spec.schedule = schedule;
  spec.cursor = cursor;
  enqueue(spec, params, grads, first, count);
}

void Optimizer::enqueue(const AdamSpec& adam, Array<float>& params, const Array<float>& grads,
                        size_t first, size_t count) {
  if (is_adam()) {
    backend_->adam(adam, params.data() + first, grads.data() + first, m_.data() + first,
                   v_.data() + first, count);
  } else {
    backend_->sgd_momentum(lr_, momentum_, params.data() + first, grads.data() + first,
                           m_.data() + first, count);
  }
}

std::vector<AdamScalars> Optimizer::schedule(int count) const {
  std::vector<AdamScalars> table;
  AdamSpec spec;
  spec.lr = lr_;
  for (int i = 1; i <= count; ++i) {
    spec.step = step_ + i;
    table.push_back(adam_scalars(spec));  // exactly what step() would compute for that step
  }
  return table;
}

}  // namespace ff
