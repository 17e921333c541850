// The one table of Backend op cases: every op of ff::Backend with the shapes its parity is checked
// on (1, odd sizes, sizes that are not multiples of the kernels' blocks) and the shapes it is
// benchmarked on (those of the default network: 4x2000 on MNIST, batch 100, slow evaluation over
// 1000 images x 10 labels). tests/test_parity_table.cpp compares each parity case on the CPU and
// on CUDA; bench/bench_ops.cpp times each bench case with the backend's own marks and reports
// the case's FLOP and byte rates. Each tolerance states why it is what it is.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "op_call.hpp"

namespace ff::optable {

struct OpCase {
  std::string op;     // the ff::Backend method the case calls
  std::string label;  // shape, variant and seed, for test and benchmark names
  std::function<void(OpCall&)> prepare;
  std::string name() const;  // "<op>_<label>", only [A-Za-z0-9_]
};

std::vector<OpCase> parity_cases();
std::vector<OpCase> bench_cases();

// The methods of ff::Backend that are not ops (identity, memory management, synchronisation,
// timing, lanes, capture): every other method must have parity and bench cases.
const std::vector<std::string>& non_op_methods();

// The groups of cases, one file each (op_table_*.cpp); `bench` selects the benchmark shapes.
void add_memory_cases(std::vector<OpCase>& cases, bool bench);
void add_dense_cases(std::vector<OpCase>& cases, bool bench);
void add_gemm_cases(std::vector<OpCase>& cases, bool bench);
void add_ff_cases(std::vector<OpCase>& cases, bool bench);
void add_data_cases(std::vector<OpCase>& cases, bool bench);
void add_update_cases(std::vector<OpCase>& cases, bool bench);

}  // namespace ff::optable
