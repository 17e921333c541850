// Which cells of a study this process runs, and how many at a time: --shard I/N, --jobs K,
// --gpus LIST. Parsed and checked before anything is written.
#pragma once

#include <string>
#include <vector>

#include "ff/study.hpp"

namespace ff::study {

// Shard `index` (1-based) of `count`: the cells whose position in the whole grid, counted from 0,
// is index - 1 modulo count. The grid's order depends only on the study's settings, which every
// shard and every rerun must share (study.json), so a cell's shard never changes.
struct Shard {
  int index = 1, count = 1;
  bool holds(size_t grid_position) const {
    return static_cast<int>(grid_position % static_cast<size_t>(count)) == index - 1;
  }
  bool whole() const { return count == 1; }
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};

// "" is the whole study (1/1). Throws ff::Error for anything but I/N with 1 <= I <= N.
Shard parse_shard(const std::string& text);

// "0,1,3": CUDA device numbers, each once. Throws ff::Error naming the form expected.
std::vector<std::string> parse_gpus(const std::string& text);

// How this process runs its cells: in itself one at a time, or in `slots` child processes
// (`devices[i]` the CUDA_VISIBLE_DEVICES of slot i, none when empty).
struct Slots {
  bool children = false;
  int count = 1;
  std::vector<std::string> devices;
  int threads_per_child = 1;  // OMP_NUM_THREADS of each child
};

// Checks --jobs and --gpus against each other and the device; throws ff::Error.
Slots plan_slots(const StudyRequest& request, const std::string& device);

// The CPU threads the children share: OMP_NUM_THREADS when set (the budget the user gave this
// process), otherwise the cores this process may run on (a Slurm allocation's, say).
int thread_budget();

}  // namespace ff::study
