// GPU parity, table-driven: the layer-1 reuse across labels (label_swap_forward,
// label_swap_weight_correction) and the element-wise add, op x shape x seed; the CPU backend is
// the oracle. The normalised input rows carry a one-hot label scaled by a per-row s in their
// first num_labels values (or none at all, label -1), as prepare_batch + rms_norm write them.
// Skips without a GPU.
#include <string>
#include <vector>

#include "test_parity_util.hpp"

namespace ff::parity {
namespace {

struct SwapCase {
  std::string op;
  int ref_rows, groups, in, out, num_labels;
  uint64_t seed;
};

std::string swap_name(const ::testing::TestParamInfo<SwapCase>& info) {
  const SwapCase& c = info.param;
  if (c.op == "add") return "add_n" + std::to_string(c.ref_rows) + "_seed" + std::to_string(c.seed);
  return sanitize(c.op + "_" + std::to_string(c.ref_rows) + "x" + std::to_string(c.groups) + "_in" +
                  std::to_string(c.in) + "_out" + std::to_string(c.out) + "_labels" +
                  std::to_string(c.num_labels) + "_seed" + std::to_string(c.seed));
}

void PrintTo(const SwapCase& c, std::ostream* os) {
  *os << swap_name(::testing::TestParamInfo<SwapCase>(c, 0));
}

// rows x in normalised inputs: random values, then the label columns: 0 everywhere except s at
// the row's label; one row in num_labels + 1 carries no label at all.
std::vector<float> labelled_rows(int rows, int in, int num_labels, uint64_t seed) {
  std::vector<float> x = random_floats(static_cast<size_t>(rows) * in, seed, 1, -1, 1);
  const std::vector<int32_t> labels = random_ints(rows, seed, 2, num_labels + 1);
  const std::vector<float> scale = random_floats(rows, seed, 3, 0.5f, 2.0f);
  for (int r = 0; r < rows; ++r) {
    float* row = x.data() + static_cast<size_t>(r) * in;
    for (int c = 0; c < num_labels; ++c) row[c] = 0.0f;
    if (labels[r] < num_labels) row[labels[r]] = scale[r];
  }
  return x;
}

using ParityLabelSwap = ParityParamFixture<SwapCase>;

TEST_P(ParityLabelSwap, MatchesCpu) {
  const SwapCase& c = GetParam();
  Backend &cpu = *cpu_, &gpu = *gpu_;
  if (c.op == "label_swap_forward") {
    const int rows = c.ref_rows * c.groups;
    Twin<float> z(cpu, gpu,
                  random_floats(static_cast<size_t>(c.ref_rows) * c.out, c.seed, 4, -1, 1));
    Twin<float> xn(cpu, gpu, labelled_rows(rows, c.in, c.num_labels, c.seed));
    Twin<float> w(cpu, gpu, random_floats(static_cast<size_t>(c.out) * c.in, c.seed, 5, -1, 1));
    Twin<float> h = poisoned(cpu, gpu, static_cast<size_t>(rows) * c.out);
    cpu.label_swap_forward(z.cpu.data(), xn.cpu.data(), c.ref_rows, c.groups, c.in, c.out,
                           c.num_labels, w.cpu.data(), h.cpu.data());
    gpu.label_swap_forward(z.gpu.data(), xn.gpu.data(), c.ref_rows, c.groups, c.in, c.out,
                           c.num_labels, w.gpu.data(), h.gpu.data());
    // z + s_row w - s_ref w with O(1) terms: either side may contract a product into an FMA,
    // ~1 ulp of a term each time, which survives cancellation: 1e-6 absolute (~8 ulp of 1).
    EXPECT_TRUE(close_to("label_swap_forward", h.gpu.download(), h.cpu.download(), 1e-6, 1e-6));
  } else if (c.op == "label_swap_weight_correction") {
    const int batch = c.ref_rows;
    Twin<float> xn(cpu, gpu, labelled_rows(2 * batch, c.in, c.num_labels, c.seed));
    Twin<float> dz(cpu, gpu, random_floats(static_cast<size_t>(batch) * c.out, c.seed, 4, -1, 1));
    Twin<float> grad(cpu, gpu, random_floats(static_cast<size_t>(c.out) * c.in, c.seed, 5, -1, 1));
    cpu.label_swap_weight_correction(xn.cpu.data(), dz.cpu.data(), batch, c.in, c.out, c.num_labels,
                                     grad.cpu.data());
    gpu.label_swap_weight_correction(xn.gpu.data(), dz.gpu.data(), batch, c.in, c.out, c.num_labels,
                                     grad.gpu.data());
    // The same additions in the same order; each of the 2*batch updates of an element may round
    // differently by 1 ulp (FMA contraction) of a value of size <~ sqrt(batch): 1e-6 * batch.
    EXPECT_TRUE(close_to("label_swap_weight_correction", grad.gpu.download(), grad.cpu.download(),
                         1e-6 * batch, 1e-6));
  } else {  // add, in place into a (the trainer's use is out of place; aliasing must work too)
    const size_t n = static_cast<size_t>(c.ref_rows) * c.out;
    Twin<float> a(cpu, gpu, random_floats(n, c.seed, 1, -1, 1));
    Twin<float> b(cpu, gpu, random_floats(n, c.seed, 2, -1, 1));
    Twin<float> out = poisoned(cpu, gpu, n);
    cpu.add(a.cpu.data(), b.cpu.data(), n, out.cpu.data());
    gpu.add(a.gpu.data(), b.gpu.data(), n, out.gpu.data());
    EXPECT_TRUE(equal_to("add", out.gpu.download(), out.cpu.download()));  // one IEEE add: exact
    cpu.add(a.cpu.data(), b.cpu.data(), n, a.cpu.data());
    gpu.add(a.gpu.data(), b.gpu.data(), n, a.gpu.data());
    EXPECT_TRUE(equal_to("add in place", a.gpu.download(), a.cpu.download()));
  }
}

std::vector<SwapCase> swap_cases() {
  std::vector<SwapCase> cases;
  // (ref_rows or batch, groups, in, out, num_labels): 1s, odd sizes, a unit count that is not a
  // multiple of the 256-thread block, batches over one 256-sample label tile, MNIST-like 784 + 10.
  const int shapes[][5] = {{1, 2, 3, 1, 2},       {7, 2, 30, 33, 10},   {13, 4, 40, 257, 24},
                           {100, 2, 794, 64, 10}, {300, 2, 50, 300, 4}, {5, 10, 784, 2000, 10}};
  for (const auto& s : shapes) {
    for (uint64_t seed : {1u, 2u}) {
      cases.push_back({"label_swap_forward", s[0], s[1], s[2], s[3], s[4], seed});
      cases.push_back({"label_swap_weight_correction", s[0], s[1], s[2], s[3], s[4], seed});
    }
  }
  for (int n : {1, 7, 1000, 100003}) cases.push_back({"add", n, 1, 1, 1, 0, 1});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(ParityTable, ParityLabelSwap, ::testing::ValuesIn(swap_cases()),
                         swap_name);

}  // namespace
}  // namespace ff::parity
