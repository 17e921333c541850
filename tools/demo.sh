#!/usr/bin/env bash
# The main job on a small default: supervised FF on MNIST, then slow and fast test accuracy.
# On a GPU it runs at full size (4x2000, 60 epochs); on the CPU a small configuration that
# finishes in a few minutes on 2 cores. Extra arguments are passed to `ffcuda train`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh"
ffcuda="${FF_BUILD_DIR:-$root/build}/ffcuda"
cd "$root"
if "$ffcuda" devices | grep -q '^cuda:'; then
  size=(--layers 4x2000 --epochs 60 --device cuda)
else
  size=(--layers 2x500 --epochs 3 --device cpu)
fi
exec "$ffcuda" train --dataset mnist --task supervised "${size[@]}" --out runs/demo "$@"
