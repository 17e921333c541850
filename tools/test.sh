#!/usr/bin/env bash
# The test command: set-up (packages, datasets), build (CUDA compiled in when nvcc exists), ctest.
# GPU parity tests skip with a reason where there is no device; ctest counts them as skipped.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
"$root/tools/build.sh"
cd "${FF_BUILD_DIR:-$root/build}"
ctest --output-on-failure -j "$(nproc)" --timeout 900
