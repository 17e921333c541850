// The pixel maps of a task's transforms for the CPU's batch prep: output pixel p of an image plane
// reads input pixel map(t)[p] under transform t (ff/task.hpp: transform_source, the same function
// the CUDA kernel calls per pixel). Computed once per task and image size instead of once per
// pixel, so that batch prep is a copy (the identity) or a gather.
#pragma once

#include <cstdint>
#include <vector>

#include "ff/task.hpp"

namespace ff {

class TransformMaps {
 public:
  // Makes the maps those of `task` on height x width images (recomputed only when either changes).
  void prepare(Task task, int height, int width);
  int count() const { return count_; }
  const int32_t* map(int transform) const {
    return index_.data() + static_cast<size_t>(transform) * plane_;
  }
  bool is_identity(int transform) const { return identity_[static_cast<size_t>(transform)] != 0; }

 private:
  Task task_ = Task::kSupervised;
  int height_ = 0, width_ = 0, plane_ = 0, count_ = 0;  // count_ 0: nothing prepared yet
  std::vector<int32_t> index_;                          // [count x plane]
  std::vector<uint8_t> identity_;                       // [count]
};

}  // namespace ff
