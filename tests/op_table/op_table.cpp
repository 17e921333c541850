#include "op_table.hpp"

#include <cctype>

namespace ff::optable {

std::string OpCase::name() const {
  std::string text = op + "_" + label;
  for (char& c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return text;
}

namespace {

std::vector<OpCase> all_cases(bool bench) {
  std::vector<OpCase> cases;
  add_memory_cases(cases, bench);
  add_dense_cases(cases, bench);
  add_gemm_cases(cases, bench);
  add_ff_cases(cases, bench);
  add_data_cases(cases, bench);
  add_update_cases(cases, bench);
  return cases;
}

}  // namespace

std::vector<OpCase> parity_cases() { return all_cases(false); }
std::vector<OpCase> bench_cases() { return all_cases(true); }

const std::vector<std::string>& non_op_methods() {
  static const std::vector<std::string> names = {"kind",           "name",
                                                 "allocate",       "deallocate",
                                                 "synchronize",    "set_gemm_precision",
                                                 "profiler_start", "profiler_stop",
                                                 "mark_time",      "seconds_between",
                                                 "set_lane",       "lane_wait",
                                                 "capture"};
  return names;
}

}  // namespace ff::optable
