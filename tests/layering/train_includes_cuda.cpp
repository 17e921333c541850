// Built with the train layer's settings by the test layering.train_includes_cuda, which passes
// only if this include is NOT found.
#include "cuda/cuda_backend.hpp"
