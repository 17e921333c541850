// Entry point of the CUDA backend (implemented in src/cuda/cuda_backend.cpp).
#pragma once

#include <memory>

#include "ff/backend.hpp"

namespace ff {

// A CUDA backend on `device`, with its own stream and cuBLAS(Lt) handles. Throws ff::CudaError when
// the device cannot be initialised.
std::unique_ptr<Backend> make_cuda_backend(int device);

}  // namespace ff
