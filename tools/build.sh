#!/usr/bin/env bash
# Configures and builds into build/ (or $FF_BUILD_DIR). nvcc is used when found (on PATH or in
# /usr/local/cuda/bin); extra CMake arguments pass through, e.g. -DFF_CUDA_ARCHITECTURES=90.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${FF_BUILD_DIR:-$root/build}
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
ninja -C "$build" -j "$(nproc)"
