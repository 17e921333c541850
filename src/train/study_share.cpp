#include "study_share.hpp"

#include <sched.h>

#include <algorithm>
#include <cstdlib>

#include "ff/error.hpp"

namespace ff::study {
namespace {

// A whole positive number written in decimal digits only ("07" is 7; "+1", "1e3", "" are not).
bool parse_count(const std::string& text, int& value) {
  if (text.empty() || text.size() > 9) return false;
  if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  value = std::stoi(text);
  return true;
}

}  // namespace

Shard parse_shard(const std::string& text) {
  if (text.empty()) return {};
  const std::string bad = "--shard '" + text +
                          "': write I/N, shard I of N with 1 <= I <= N (e.g. 1/2 and 2/2 split "
                          "the study between two machines)";
  const size_t slash = text.find('/');
  require(slash != std::string::npos, bad);
  Shard shard;
  require(parse_count(text.substr(0, slash), shard.index) &&
              parse_count(text.substr(slash + 1), shard.count),
          bad);
  require(shard.index >= 1 && shard.index <= shard.count, bad);
  return shard;
}

std::vector<std::string> parse_gpus(const std::string& text) {
  const std::string bad = "--gpus '" + text +
                          "': write CUDA device numbers separated by commas, each once (e.g. "
                          "0,1 runs one cell on each of two GPUs)";
  std::vector<std::string> gpus;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string gpu = text.substr(start, end - start);
    int number = 0;
    require(parse_count(gpu, number), bad);
    const std::string canonical = std::to_string(number);
    require(std::find(gpus.begin(), gpus.end(), canonical) == gpus.end(), bad);
    gpus.push_back(canonical);
    start = end + 1;
  }
  return gpus;
}

int thread_budget() {
  const char* given = std::getenv("OMP_NUM_THREADS");
  int budget = 0;
  if (given != nullptr && parse_count(given, budget) && budget > 0) return budget;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (::sched_getaffinity(0, sizeof cpus, &cpus) == 0) return std::max(1, CPU_COUNT(&cpus));
  return 1;
}

Slots plan_slots(const StudyRequest& request, const std::string& device) {
  require(request.jobs >= 1 && request.jobs <= 1024,
          "--jobs " + std::to_string(request.jobs) +
              ": give the number of cells to run at a time, 1 to 1024");
  Slots slots;
  if (!request.gpus.empty()) {
    require(request.jobs == 1,
            "--jobs and --gpus: give one of them (--gpus runs one cell per "
            "GPU at a time; --jobs K runs K cells at a time on the CPU)");
    require(device != "cpu",
            "--gpus with --device cpu: the cells would not use the GPUs; use "
            "--device auto or cuda, or --jobs for CPU cells");
    slots.devices = parse_gpus(request.gpus);
    slots.count = static_cast<int>(slots.devices.size());
    slots.children = true;
  } else if (request.jobs > 1) {
    slots.count = request.jobs;
    slots.children = true;
  }
  slots.threads_per_child = std::max(1, thread_budget() / slots.count);
  return slots;
}

}  // namespace ff::study
