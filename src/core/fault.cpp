#include "ff/fault.hpp"

#include <signal.h>

#include <cstdlib>
#include <cstring>
#include <string>

namespace ff {
namespace {

struct FaultPlan {
  std::string point;  // empty: no fault
  long remaining = 0;
};

FaultPlan read_plan() {
  FaultPlan plan;
  const char* value = std::getenv("FF_FAULT");
  if (value == nullptr) return plan;
  const char* colon = std::strrchr(value, ':');
  plan.point = colon ? std::string(value, colon) : std::string(value);
  plan.remaining = colon ? std::strtol(colon + 1, nullptr, 10) : 1;
  if (plan.remaining < 1) plan.remaining = 1;
  return plan;
}

}  // namespace

void fault_point(const char* point) {
  static FaultPlan plan = read_plan();
  if (plan.point.empty() || plan.point != point) return;
  if (--plan.remaining == 0) ::raise(SIGKILL);
}

}  // namespace ff
