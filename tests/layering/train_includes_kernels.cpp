// Built with the train layer's settings by the test layering.train_includes_kernels, which passes
// only if this include is NOT found.
#include "launch.cuh"
