// Task names as the CLI spells them (--task): the one table of ff/config.hpp serves both
// directions, so parse_task and task_name cannot drift apart.
#include <string>

#include "ff/config.hpp"
#include "ff/task.hpp"

namespace ff {

Task parse_task(const std::string& name) { return parse_enum<Task>(name); }

std::string task_name(Task task) { return enum_name(task); }

}  // namespace ff
