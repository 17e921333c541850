// GPU parity of what the op table (tests/op_table/) cannot express: errors. Where the CPU refuses
// a batch, the CUDA backend must refuse it too. Skips without a GPU.
#include <utility>

#include "ff/error.hpp"
#include "test_parity_util.hpp"

namespace ff::parity {
namespace {

using ParityPrepareBatchErrors = ParityFixture;

// Where the CPU refuses a batch (the unsupervised task's mask scratch holds 32x32; a hybrid
// needs a second image), the CUDA backend refuses it too, with ff::Error.
TEST_F(ParityPrepareBatchErrors, UnsupervisedLimitsLikeTheCpu) {
  for (const auto& [side, count] : {std::pair{33, 40u}, std::pair{28, 1u}}) {
    BatchSpec spec;
    spec.task = Task::kUnsupervised;
    spec.channels = 1;
    spec.height = spec.width = side;
    spec.dataset_count = count;
    spec.batch = 1;
    Array<float> out(*gpu_, 2 * static_cast<size_t>(side) * side);
    EXPECT_THROW(cpu_->prepare_batch(spec, nullptr, nullptr), Error) << side << " " << count;
    EXPECT_THROW(gpu_->prepare_batch(spec, out.data(), nullptr), Error) << side << " " << count;
  }
}

}  // namespace
}  // namespace ff::parity
