// Linked with the core layer's settings by the test layering.core_calls_cpu, which passes only if
// the link fails on this call: core may not use the CPU backend.
#include "ff/backend.hpp"

void layering_probe() { (void)ff::make_cpu_backend(); }
