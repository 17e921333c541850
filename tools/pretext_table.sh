#!/usr/bin/env bash
# The pretext-task comparison at CPU size as one table: for each dataset and pretext task, FF and the backprop
# classifier of the same size and budget (bp-ce), pretext accuracy and linear-probe transfer.
#
# Usage (from anywhere):
#     tools/pretext_table.sh [OUTPUT.md]      # default bench/results/cpu/pretext-<layers>-e<epochs>.md
# Environment (the defaults make bench/results/cpu/pretext-2x500-e2.md):
#     LAYERS=2x500  EPOCHS=2  PROBE_EPOCHS=5  DATASETS="mnist fashion-mnist"
#     TASKS="rotation flip-h flip-hv jigsaw"  ALGOS="ff bp-ce"  SEED=0
# Each run is
#     build-cpu/ffcuda train --dataset D --task T --algo A --layers L --epochs E \
#         --probe --probe-epochs P --seed S --device cpu --out RUNS/D-T-A
# (about 10-30 s each at 2x500 on 2 cores; 16 runs by default). The run folders (result.json,
# metrics.jsonl, log) are kept under RUNS (default runs/pretext-<layers>-e<epochs>), so every
# figure in the table can be traced to its run. Needs build-cpu/ffcuda and jq.
set -euo pipefail

cd "$(dirname "$0")/.."
layers="${LAYERS:-2x500}"
epochs="${EPOCHS:-2}"
probe_epochs="${PROBE_EPOCHS:-5}"
seed="${SEED:-0}"
read -r -a datasets <<<"${DATASETS:-mnist fashion-mnist}"
read -r -a tasks <<<"${TASKS:-rotation flip-h flip-hv jigsaw}"
read -r -a algos <<<"${ALGOS:-ff bp-ce}"
out="${1:-bench/results/cpu/pretext-${layers}-e${epochs}.md}"
runs="${RUNS:-runs/pretext-${layers}-e${epochs}}"
ffcuda=build-cpu/ffcuda
[[ -x "$ffcuda" ]] || { echo "missing $ffcuda: build it first (tools/build.sh)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is needed: apt-get install -y jq" >&2; exit 1; }
mkdir -p "$runs" "$(dirname "$out")"

percent() { jq -r "if .$2 == null then \"-\" else (.$2 * 10000 | round / 100 | tostring) end" "$1"; }

rows=()
for dataset in "${datasets[@]}"; do
  for task in "${tasks[@]}"; do
    row="| $dataset | $task |"
    for algo in "${algos[@]}"; do
      dir="$runs/$dataset-$task-$algo"
      echo "== $dataset $task $algo" >&2
      "$ffcuda" train --dataset "$dataset" --task "$task" --algo "$algo" --layers "$layers" \
        --epochs "$epochs" --probe --probe-epochs "$probe_epochs" --seed "$seed" --device cpu \
        --out "$dir" >"$dir.log" 2>&1 || { echo "run failed, see $dir.log" >&2; exit 1; }
      # bp-ce has no slow classification: its pretext accuracy is its own head's.
      field=task_acc
      [[ "$algo" == bp-ce ]] && field=head_acc
      row+=" $(percent "$dir/result.json" "$field") | $(percent "$dir/result.json" probe_acc) |"
    done
    rows+=("$row")
  done
done

commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- src include kernels 2>/dev/null || commit+=" (with uncommitted changes to the sources)"
device="$(jq -r .device "$runs/${datasets[0]}-${tasks[0]}-${algos[0]}/result.json")"
tmp="$out.tmp.$$"
{
  echo "# Pretext accuracy and linear-probe transfer, $layers, $epochs epochs, probe $probe_epochs epochs"
  echo
  echo "Made by \`tools/pretext_table.sh\` on $(date -u +%Y-%m-%d) at commit $commit;"
  echo "device: $device; seed $seed. Test-set accuracy, %. Runs in \`$runs/\`."
  echo
  header="| dataset | task |"
  rule="|---|---|"
  for algo in "${algos[@]}"; do
    header+=" $algo pretext | $algo transfer |"
    rule+="---|---|"
  done
  echo "$header"
  echo "$rule"
  printf '%s\n' "${rows[@]}"
} >"$tmp"
mv "$tmp" "$out"
cat "$out"
