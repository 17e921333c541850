#!/usr/bin/env bash
# CPU speed of ffcuda against the plain NumPy FF step (tools/numpy_ff.py, the speed baseline),
# measured in the same run so that both see the same machine state (this host's speed drifts).
#
# Usage (from anywhere; takes ~1-2 minutes):
#     tools/cpu_speed.sh [ROUNDS]            # ROUNDS defaults to 3
#
# For each round and each network (2x500, 4x2000, batch 100) it runs, one after the other,
#     /usr/bin/python3 tools/numpy_ff.py --layers L --batch 100 --warmup W --steps N --no-eval --json
#     build-cpu/ffcuda bench --device cpu --layers L --batch 100 --warmup W --iters N --eval-images 0 --json F
# and prints both samples/s (training images per second) and the ratio ffcuda/numpy; at the end,
# the median ratio per network. Each measurement lasts a few seconds; step counts can be changed with
#     NUMPY_STEPS_2x500 (400)  FFCUDA_ITERS_2x500 (600)  NUMPY_STEPS_4x2000 (12)  FFCUDA_ITERS_4x2000 (40)
# Needs: build-cpu/ffcuda (tools/build.sh), Debian's python3-numpy (run by /usr/bin/python3: the
# pyenv python3 on PATH has no NumPy), jq, MNIST in data/mnist (tools/fetch_data.sh).
# Extra ffcuda options (e.g. FFCUDA_ARGS="--reuse-layer1 false") go through FFCUDA_ARGS.
# Reading the numbers: `uptime` is printed before and after; a load well above 0 before the start
# means something else (a compile) shares the 2 cores and both sides are slowed.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds="${1:-3}"
python=/usr/bin/python3
ffcuda=build-cpu/ffcuda
[[ -x "$ffcuda" ]] || { echo "missing $ffcuda: build it first (tools/build.sh)" >&2; exit 1; }
"$python" -c "import numpy" 2>/dev/null || { echo "$python has no NumPy: apt-get install -y python3-numpy" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }

configs=(2x500 4x2000)
declare -A numpy_steps=([2x500]="${NUMPY_STEPS_2x500:-400}" [4x2000]="${NUMPY_STEPS_4x2000:-12}")
declare -A ffcuda_iters=([2x500]="${FFCUDA_ITERS_2x500:-600}" [4x2000]="${FFCUDA_ITERS_4x2000:-40}")
declare -A warmup=([2x500]=5 [4x2000]=2)
declare -A ratios=()

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "load before: $(uptime)"
printf '%-6s %-7s %14s %14s %8s\n' round layers "numpy samp/s" "ffcuda samp/s" ratio
for ((r = 1; r <= rounds; r++)); do
  for L in "${configs[@]}"; do
    np_sps="$("$python" tools/numpy_ff.py --layers "$L" --batch 100 --warmup "${warmup[$L]}" \
      --steps "${numpy_steps[$L]}" --no-eval --json 2>/dev/null | tail -n 1 | jq -r '.train_samples_per_s')"
    # shellcheck disable=SC2086  # FFCUDA_ARGS is a list of options
    "$ffcuda" bench --device cpu --layers "$L" --batch 100 --warmup "${warmup[$L]}" \
      --iters "${ffcuda_iters[$L]}" --eval-images 0 --json "$tmp/bench.json" ${FFCUDA_ARGS:-} >/dev/null
    ff_sps="$(jq -r '.samples_per_s' "$tmp/bench.json")"
    ratio="$(awk -v a="$ff_sps" -v b="$np_sps" 'BEGIN { printf "%.3f", a / b }')"
    ratios[$L]="${ratios[$L]:-} $ratio"
    printf '%-6s %-7s %14.0f %14.0f %8s\n' "$r" "$L" "$np_sps" "$ff_sps" "$ratio"
  done
done
echo "load after:  $(uptime)"

for L in "${configs[@]}"; do
  median="$(tr ' ' '\n' <<<"${ratios[$L]}" | grep -v '^$' | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')"
  echo "median ffcuda/numpy, $L: ${median}x  (rounds:${ratios[$L]})"
done
