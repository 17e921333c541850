#include "cpu_transform_maps.hpp"

namespace ff {

void TransformMaps::prepare(Task task, int height, int width) {
  if (count_ > 0 && task == task_ && height == height_ && width == width_) return;
  task_ = task;
  height_ = height;
  width_ = width;
  plane_ = height * width;
  // Transform tasks draw one of their labels' transforms per image; the others use transform 0.
  count_ = task_is_transform(task) ? task_num_labels(task, 0) : 1;
  index_.assign(static_cast<size_t>(count_) * plane_, 0);
  identity_.assign(static_cast<size_t>(count_), 1);
  for (int t = 0; t < count_; ++t) {
    int32_t* map = index_.data() + static_cast<size_t>(t) * plane_;
    for (int row = 0; row < height; ++row) {
      for (int col = 0; col < width; ++col) {
        int src_row = row, src_col = col;
        transform_source(task, t, height, width, row, col, &src_row, &src_col);
        const int p = row * width + col;
        map[p] = src_row * width + src_col;
        if (map[p] != p) identity_[static_cast<size_t>(t)] = 0;
      }
    }
  }
}

}  // namespace ff
