// Built with the kernels' settings by the test layering.kernels_include_backend, which passes only
// if this include is NOT found.
#include "cuda_backend.hpp"
