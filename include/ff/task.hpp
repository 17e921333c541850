// The training tasks (docs/what-it-computes.md) and the pixel index maps of their transforms. A
// transform is a pure map "output pixel (row, col) reads input pixel (src_row, src_col)" so that
// the CPU reference and the GPU batch-prep kernel apply exactly the same arithmetic.
#pragma once

#include <string>

#include "ff/hd.hpp"

namespace ff {

enum class Task { kSupervised, kRotation, kFlipH, kFlipHV, kJigsaw, kUnsupervised };

// Number of labels the task writes into the input (0 for unsupervised: no label is embedded).
FF_HD int task_num_labels(Task task, int num_classes) {
  switch (task) {
    case Task::kSupervised: return num_classes;
    case Task::kRotation: return 4;
    case Task::kFlipH: return 2;
    case Task::kFlipHV: return 4;
    case Task::kJigsaw: return 24;
    case Task::kUnsupervised: return 0;
  }
  return 0;
}

// Whether the task's label is a transform index (drawn per image) rather than the class label.
FF_HD bool task_is_transform(Task task) {
  return task == Task::kRotation || task == Task::kFlipH || task == Task::kFlipHV ||
         task == Task::kJigsaw;
}

// The k-th permutation of {0,1,2,3} in lexicographic order (k in [0, 24)), via the factorial
// number system. perm[j] = which input patch lands at output patch position j.
FF_HD void jigsaw_permutation(int k, int perm[4]) {
  int pool[4] = {0, 1, 2, 3};
  int factorial = 6;
  for (int position = 0; position < 4; ++position) {
    const int pick = k / factorial;
    k %= factorial;
    perm[position] = pool[pick];
    for (int j = pick; j < 3 - position; ++j) pool[j] = pool[j + 1];
    if (position < 3) factorial /= (3 - position);
  }
}

// Source pixel of output pixel (row, col) of a height x width image under transform `index` of
// `task`. Rotations are counter-clockwise by index*90 degrees and need square images. Jigsaw patch
// positions are numbered row-major: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
FF_HD void transform_source(Task task, int index, int height, int width, int row, int col,
                            int* src_row, int* src_col) {
  int r = row, c = col;
  switch (task) {
    case Task::kRotation:
      if (index == 1) {
        r = col;
        c = width - 1 - row;
      } else if (index == 2) {
        r = height - 1 - row;
        c = width - 1 - col;
      } else if (index == 3) {
        r = height - 1 - col;
        c = row;
      }
      break;
    case Task::kFlipH:
    case Task::kFlipHV:
      if (index & 1) c = width - 1 - col;   // horizontal mirror
      if (index & 2) r = height - 1 - row;  // vertical mirror
      break;
    case Task::kJigsaw: {
      const int patch_h = height / 2, patch_w = width / 2;
      const int out_patch = (row / patch_h) * 2 + (col / patch_w);
      int perm[4];
      jigsaw_permutation(index, perm);
      const int in_patch = perm[out_patch];
      r = (in_patch / 2) * patch_h + row % patch_h;
      c = (in_patch % 2) * patch_w + col % patch_w;
      break;
    }
    default: break;
  }
  *src_row = r;
  *src_col = c;
}

Task parse_task(const std::string& name);  // throws ff::Error listing the valid names
std::string task_name(Task task);

}  // namespace ff
