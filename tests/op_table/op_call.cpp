#include "op_call.hpp"

#include "op_inputs.hpp"

namespace ff::optable {

float* OpCall::output(const std::string& name, const std::vector<float>& initial,
                      Tolerance tolerance) {
  float* data = keep(floats_, initial);
  compared_.push_back({name, Compared::kFloat, floats_.size() - 1, initial, std::move(tolerance)});
  return data;
}

int32_t* OpCall::output(const std::string& name, const std::vector<int32_t>& initial) {
  int32_t* data = keep(ints_, initial);
  compared_.push_back({name, Compared::kInt32, ints_.size() - 1, {}, Tolerance::bitwise()});
  return data;
}

int64_t* OpCall::output(const std::string& name, const std::vector<int64_t>& initial) {
  int64_t* data = keep(longs_, initial);
  compared_.push_back({name, Compared::kInt64, longs_.size() - 1, {}, Tolerance::bitwise()});
  return data;
}

float* OpCall::host_output(const std::string& name, size_t n) {
  host_.emplace_back(n, kNaN);
  compared_.push_back(
      {name, Compared::kHost, host_.size() - 1, host_.back(), Tolerance::bitwise()});
  return host_.back().data();
}

std::vector<OpResult> OpCall::results() const {
  std::vector<OpResult> out;
  for (const Compared& c : compared_) {
    OpResult r{c.name, {}, {}, c.initial, c.tolerance};
    switch (c.kind) {
      case Compared::kFloat: r.floats = floats_[c.index].download(); break;
      case Compared::kHost: r.floats = host_[c.index]; break;
      case Compared::kInt32: {
        const std::vector<int32_t> values = ints_[c.index].download();
        r.integers.assign(values.begin(), values.end());
        break;
      }
      case Compared::kInt64: r.integers = longs_[c.index].download(); break;
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ff::optable
