#!/usr/bin/env bash
# An ffcuda study on a Slurm cluster: writes two batch scripts, a job array with one task per
# shard (each runs `ffcuda study ... --shard $SLURM_ARRAY_TASK_ID/N` into the study's folder on
# the shared file system) and a report job that runs after the whole array has ended
# (`ffcuda study --report OUT`); with --submit it submits both. docs/study.md has the details.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() {
  cat <<'EOF'
usage: tools/slurm_study.sh --shards N [options] -- STUDY OPTIONS (as for ffcuda study; --out is required)

  --shards N           array tasks, one shard of the study each (required)
  --gpus-per-cell G    GPUs per array task (--gres=gpu:G); default 1 with --device cuda, 0 with
                       --device cpu, and with auto (the default device) 1 when the partition has
                       GPUs (sinfo), else 0
  --cpus-per-cell C    --cpus-per-task of each array task (default 2); OMP_NUM_THREADS follows it
  --mem M              --mem of each array task (default: the partition's)
  --time T             --time of each array task (default: the partition's)
  --partition P        the partition of both jobs (default: the cluster's default)
  --sbatch-arg ARG     another sbatch option for both jobs, e.g. --sbatch-arg --account=lab
                       (repeatable)
  --ffcuda PATH        the ffcuda binary the jobs run (default: ffcuda on PATH, else build/ffcuda)
  --scripts DIR        where the batch scripts and job logs go (default: OUT/slurm)
  --submit             submit the array, then the report job with --dependency=afterany on it
EOF
}

fail() {
  echo "slurm_study: error: $*" >&2
  exit 1
}

shards="" gpus="" cpus=2 mem="" time_limit="" partition="" ffcuda="" scripts="" submit=0
extra=()
while (($#)); do
  case "$1" in
    --shards) shards=${2-}; shift 2 || fail "--shards needs a value" ;;
    --gpus-per-cell) gpus=${2-}; shift 2 || fail "--gpus-per-cell needs a value" ;;
    --cpus-per-cell) cpus=${2-}; shift 2 || fail "--cpus-per-cell needs a value" ;;
    --mem) mem=${2-}; shift 2 || fail "--mem needs a value" ;;
    --time) time_limit=${2-}; shift 2 || fail "--time needs a value" ;;
    --partition) partition=${2-}; shift 2 || fail "--partition needs a value" ;;
    --sbatch-arg) extra+=("${2-}"); shift 2 || fail "--sbatch-arg needs a value" ;;
    --ffcuda) ffcuda=${2-}; shift 2 || fail "--ffcuda needs a value" ;;
    --scripts) scripts=${2-}; shift 2 || fail "--scripts needs a value" ;;
    --submit) submit=1; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) fail "unknown option '$1': the study's own options go after -- (see --help)" ;;
  esac
done
study_args=("$@")

[[ $shards =~ ^[1-9][0-9]*$ ]] || fail "--shards N: the number of array tasks, 1 or more (see --help)"
[[ $cpus =~ ^[1-9][0-9]*$ ]] || fail "--cpus-per-cell '$cpus': a number of CPUs, 1 or more"
[[ -z $gpus || $gpus =~ ^[0-9]+$ ]] || fail "--gpus-per-cell '$gpus': a number of GPUs, 0 or more"

# What the script needs from the study's options: its folder, its device, the published figures.
out="" device="" published=""
for ((i = 0; i < ${#study_args[@]}; ++i)); do
  arg=${study_args[i]}
  next=${study_args[i + 1]-}
  case "$arg" in
    --out) out=$next ;;
    --out=*) out=${arg#--out=} ;;
    --device) device=$next ;;
    --device=*) device=${arg#--device=} ;;
    --published) published=$next ;;
    --published=*) published=${arg#--published=} ;;
    --shard | --shard=*) fail "the study's options must not hold --shard: each array task gets its own" ;;
    --report | --report=*) fail "the study's options must not hold --report: the report job writes it" ;;
  esac
done
[[ -n $out ]] || fail "the study's options need --out DIR, a folder on a file system every node shares"
out=$(realpath -m -- "$out")
scripts=$(realpath -m -- "${scripts:-$out/slurm}")

if [[ -z $ffcuda ]]; then
  ffcuda=$(command -v ffcuda || true)
  [[ -n $ffcuda ]] || ffcuda=$root/build/ffcuda
fi
[[ -x $ffcuda ]] || fail "no ffcuda binary at '$ffcuda': build it (tools/build.sh) or give --ffcuda PATH"
ffcuda=$(realpath -- "$ffcuda")

if [[ -z $gpus ]]; then
  case "${device:-auto}" in
    cpu) gpus=0 ;;
    cuda) gpus=1 ;;
    *)
      # auto: a GPU per task where the partition has GPUs to give.
      gres=$(sinfo -h -o %G ${partition:+-p "$partition"} 2>/dev/null || true)
      if [[ $gres == *gpu* ]]; then gpus=1; else gpus=0; fi
      echo "slurm_study: --device ${device:-auto}: $gpus GPU per array task (the partition's resources: ${gres:-unknown}); --gpus-per-cell sets it"
      ;;
  esac
fi

# Lines common to both jobs.
common=("#SBATCH --chdir=$PWD")
[[ -n $partition ]] && common+=("#SBATCH --partition=$partition")
for arg in ${extra[@]+"${extra[@]}"}; do common+=("#SBATCH $arg"); done

quoted_study=$(printf '%q ' "${study_args[@]}")
mkdir -p "$scripts"
array_script=$scripts/shards.sbatch
report_script=$scripts/report.sbatch
{
  echo "#!/bin/bash"
  echo "# ffcuda study $out: shard \$SLURM_ARRAY_TASK_ID of $shards (written by tools/slurm_study.sh)"
  echo "#SBATCH --job-name=ffcuda-study"
  echo "#SBATCH --array=1-$shards"
  echo "#SBATCH --ntasks=1"
  echo "#SBATCH --cpus-per-task=$cpus"
  ((gpus > 0)) && echo "#SBATCH --gres=gpu:$gpus"
  [[ -n $mem ]] && echo "#SBATCH --mem=$mem"
  [[ -n $time_limit ]] && echo "#SBATCH --time=$time_limit"
  echo "#SBATCH --output=$scripts/shard-%a-job%A.log"
  printf '%s\n' "${common[@]}"
  echo "set -eu"
  echo "# The task's CPUs are its threads: Slurm does not tell OpenMP."
  echo "export OMP_NUM_THREADS=\${SLURM_CPUS_PER_TASK:-1}"
  echo "exec $(printf '%q' "$ffcuda") study $quoted_study--shard \"\$SLURM_ARRAY_TASK_ID/$shards\""
} >"$array_script"
{
  echo "#!/bin/bash"
  echo "# ffcuda study $out: the report, once every shard has ended (written by tools/slurm_study.sh)"
  echo "#SBATCH --job-name=ffcuda-study-report"
  echo "#SBATCH --ntasks=1"
  echo "#SBATCH --cpus-per-task=1"
  echo "#SBATCH --time=00:10:00"
  echo "#SBATCH --output=$scripts/report-job%j.log"
  printf '%s\n' "${common[@]}"
  echo "set -eu"
  echo "exec $(printf '%q' "$ffcuda") study --report $(printf '%q' "$out")${published:+ --published $(printf '%q' "$published")}"
} >"$report_script"
chmod +x "$array_script" "$report_script"
echo "slurm_study: wrote $array_script ($shards array tasks, $cpus CPUs and $gpus GPUs each) and $report_script"

if ((submit == 0)); then
  echo "slurm_study: submit them with:"
  echo "  id=\$(sbatch --parsable $(printf '%q' "$array_script")) && sbatch --dependency=afterany:\${id%%;*} $(printf '%q' "$report_script")"
  exit 0
fi
array_id=$(sbatch --parsable "$array_script")
array_id=${array_id%%;*}
report_id=$(sbatch --parsable --dependency="afterany:$array_id" "$report_script")
report_id=${report_id%%;*}
echo "slurm_study: array job $array_id (shards 1-$shards), report job $report_id (after it); logs in $scripts"
