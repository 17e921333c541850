#!/usr/bin/env bash
# The main job on a small default: supervised FF on MNIST, then slow and fast test accuracy.
# With an NVIDIA GPU (nvidia-smi works) it builds the CUDA backend and runs the full size
# (4x2000, 60 epochs); without one it builds the CPU backend only (no minutes spent compiling
# kernels that cannot run) and runs 2x500 for 3 epochs, a few minutes on 2 cores.
# Extra arguments are passed to `ffcuda train`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
if nvidia-smi >/dev/null 2>&1; then
  export FF_BUILD_DIR=${FF_BUILD_DIR:-$root/build}
  "$root/tools/build.sh"
  size=(--layers 4x2000 --epochs 60 --device cuda)
else
  export FF_BUILD_DIR=${FF_BUILD_DIR:-$root/build-cpu}
  "$root/tools/build.sh" -DFF_ENABLE_CUDA=OFF -DFF_BUILD_TESTS=OFF -DFF_BUILD_BENCH=OFF
  size=(--layers 2x500 --epochs 3 --device cpu)
fi
cd "$root"
exec "$FF_BUILD_DIR/ffcuda" train --dataset mnist --task supervised "${size[@]}" --out runs/demo "$@"
