#!/usr/bin/env bash
# The kernels' run-time choice: --version names the kernels and what this
# CPU runs; MNIST_ISA picks each of those (training gives a model naming it
# in its metadata) and refuses, with one line and exit 1, a name the binary
# or the CPU lacks. Same seed, same tensors with any ISA is NOT checked
# here (it holds per ISA only; see README).
# Usage: isa.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir
gen_data data 200 50 3

expect 0 "$MNIST" --version
check "version names the kernels" grep -qE '^kernels: (avx512|avx2|neon|portable) \(this CPU runs: ' out.txt
best=$(sed -n 's/^kernels: \([a-z0-9]*\).*/\1/p' out.txt)
runs=$(sed -n 's/.*this CPU runs: \([a-z0-9 ]*\);.*/\1/p' out.txt)
check "the chosen kernels are the first the CPU runs" [ "$best" = "${runs%% *}" ]
check "portable is always there" grep -qw portable <<<"$runs"
for isa in $runs; do
  expect 0 env MNIST_ISA="$isa" "$MNIST" --version
  check "MNIST_ISA=$isa is used" grep -q "^kernels: $isa " out.txt
  expect 0 env MNIST_ISA="$isa" "$MNIST" train --data data --epochs 1 --quiet --threads 1 --output "m-$isa.bin"
  check "model metadata names $isa" grep -qa "\"mnist_isa\": *\"$isa\"" "m-$isa.bin"
done
for isa in avx512 avx2 neon bogus; do
  grep -qw "$isa" <<<"$runs" && continue
  expect 1 env MNIST_ISA="$isa" "$MNIST" --version
  check "MNIST_ISA=$isa refused in one line" one_line_err
  check "the refusal names what runs" grep -q "runs here: $runs" err.txt
  check "nothing on stdout when refused" [ ! -s out.txt ]
done
finish isa
