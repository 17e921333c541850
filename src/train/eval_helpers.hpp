// Small helpers shared by the evaluation passes (slow classification, features, bp-ce head).
#pragma once

#include <algorithm>
#include <numeric>
#include <vector>

#include "ff/backend.hpp"
#include "ff/network.hpp"

namespace ff {

// The dataset rows 0..count-1 in order, on the backend: evaluation visits every image once.
inline Array<int32_t> iota_indices(Backend& backend, size_t count) {
  std::vector<int32_t> indices(count);
  std::iota(indices.begin(), indices.end(), 0);
  return Array<int32_t>(backend, indices);
}

// The widest activation of a network (input included): the size of reusable row buffers.
inline int max_width(const Mlp& network) {
  return *std::max_element(network.dims().begin(), network.dims().end());
}

}  // namespace ff
