// Task names as the CLI spells them (--task). One table serves both directions so parse_task and
// task_name cannot drift apart.
#include <string>

#include "ff/error.hpp"
#include "ff/task.hpp"

namespace ff {
namespace {

struct TaskName {
  Task task;
  const char* name;
};

constexpr TaskName kTaskNames[] = {
    {Task::kSupervised, "supervised"}, {Task::kRotation, "rotation"},
    {Task::kFlipH, "flip-h"},          {Task::kFlipHV, "flip-hv"},
    {Task::kJigsaw, "jigsaw"},         {Task::kUnsupervised, "unsupervised"},
};

}  // namespace

Task parse_task(const std::string& name) {
  std::string valid;
  for (const TaskName& entry : kTaskNames) {
    if (name == entry.name) return entry.task;
    valid += (valid.empty() ? "" : ", ") + std::string(entry.name);
  }
  throw Error("unknown task '" + name + "'; valid tasks: " + valid);
}

std::string task_name(Task task) {
  for (const TaskName& entry : kTaskNames)
    if (entry.task == task) return entry.name;
  return "unknown";  // unreachable for a valid enum value
}

}  // namespace ff
