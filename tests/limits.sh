#!/usr/bin/env bash
# Resource limits: absurd sizes are refused as usage errors (exit 2, the
# message on one line naming the flag, then the "Try ... --help" hint) before
# any data is read or memory allocated. Every refused command points --data
# at a directory that does not exist, so getting as far as loading data
# would be exit 1, not 2; and each must finish at once.
# Usage: limits.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir

# refused CMD_WORDS... -- PATTERN: exit 2, two lines on stderr, the first
# "mnist <cmd>: ..." matching PATTERN (an ERE), the second the hint; no stdout.
refused() {
  local args=() pat
  while [ "$1" != "--" ]; do args+=("$1"); shift; done
  pat=$2
  local start=$SECONDS
  "$MNIST" "${args[@]}" >out.txt 2>err.txt
  local rc=$? cmd=${args[0]}
  local l1 l2
  l1=$(sed -n 1p err.txt) l2=$(sed -n 2p err.txt)
  if [ $rc -ne 2 ]; then
    bad "exit $rc, wanted 2: ${args[*]}"; sed 's/^/  /' err.txt >&2
  elif [ "$(wc -l <err.txt)" -ne 2 ] || [ "$l2" != "Try 'mnist $cmd --help'." ]; then
    bad "not a one-line usage error: ${args[*]}"; sed 's/^/  /' err.txt >&2
  elif ! printf '%s\n' "$l1" | grep -qE "^mnist $cmd: .*($pat)"; then
    bad "message does not say /$pat/: ${args[*]}: $l1"
  elif [ -s out.txt ]; then
    bad "printed to stdout: ${args[*]}"
  elif [ $((SECONDS - start)) -gt 5 ]; then
    bad "took $((SECONDS - start)) s to refuse: ${args[*]}"
  else
    ok
  fi
}
T=(train --data "$WORK/nowhere" --output never.bin)

# --- numbers out of range ---------------------------------------------------
refused "${T[@]}" --batch-size 0 -- "--batch-size must be an integer from 1 to 65536"
refused "${T[@]}" --batch-size -5 -- "--batch-size"
refused "${T[@]}" --batch-size 65537 -- "--batch-size"
refused "${T[@]}" --batch-size 1000000000 -- "--batch-size.*'1000000000'"
refused "${T[@]}" --batch-size 99999999999999999999999 -- "--batch-size"
refused "${T[@]}" --batch-size 1e3 -- "--batch-size"
refused "${T[@]}" --epochs 0 -- "--epochs must be an integer from 1 to 100000"
refused "${T[@]}" --epochs -1 -- "--epochs.*'-1'"
refused "${T[@]}" --epochs 100001 -- "--epochs"
refused "${T[@]}" --epochs 18446744073709551617 -- "--epochs"
refused "${T[@]}" --threads 0 -- "--threads"
refused "${T[@]}" --threads 1025 -- "--threads"
refused "${T[@]}" --early-stopping 100001 --validation-split 0.1 -- "--early-stopping"
refused "${T[@]}" --validation-split 1 -- "--validation-split"
refused "${T[@]}" --lr 1e7 -- "--lr"
refused "${T[@]}" --lr nan -- "--lr"
refused "${T[@]}" --lr inf -- "--lr"
refused "${T[@]}" --seed -1 -- "--seed"
refused "${T[@]}" --lr-schedule step:0:0.5 -- "--lr-schedule"
refused "${T[@]}" --lr-schedule step:100001:0.5 -- "--lr-schedule.*EVERY 1 to 100000"
refused "${T[@]}" --lr-schedule step:4294967296:0.5 -- "--lr-schedule" # was a division by zero
refused "${T[@]}" --lr-schedule step:1:1.5 -- "--lr-schedule"

# --- architectures too large --------------------------------------------------
refused "${T[@]}" --arch "dense:999999999" -- "dense needs a unit count from 1 to 1000000"
refused "${T[@]}" --arch "dense:0,dense:10" -- "dense needs a unit count"
refused "${T[@]}" --arch "dense:-128,dense:10" -- "dense needs a unit count"
refused "${T[@]}" --arch "dense:1000000,dense:10" -- "too many parameters"
refused "${T[@]}" --arch "dense:100000,relu,dense:2000,dense:10" -- "too many parameters"
refused "${T[@]}" --arch "conv:65537:3,dense:10" -- "filter count"
refused "${T[@]}" --arch "conv:32:99999,dense:10" -- "kernel"
refused "${T[@]}" --arch "$(printf 'relu,%.0s' $(seq 70))dense:10" -- "more than 64 layers"
refused "${T[@]}" --arch "$(printf '%1100s' '')dense:10" -- "too long"
# a batch whose activations could not fit: refused before the data is read
refused "${T[@]}" --arch "conv:1000:3,relu,dense:10" --batch-size 65536 -- "--batch-size 65536 with this architecture needs [0-9.]+ GB.*limit of 8 GB"
refused "${T[@]}" --arch "conv:256:3:same,conv:256:3:same,dense:10" --batch-size 8192 -- "needs [0-9.]+ GB"
refused summary --arch "dense:999999999" -- "dense needs a unit count"
refused eval model.bin --batch-size 0 -- "--batch-size"
refused eval model.bin --batch-size 1000000000 -- "--batch-size"

# --- the limits leave room for real work ---------------------------------------
gen_data "$WORK/data" 300 50 3
# sane ARGS... : a one-epoch training run with ARGS must succeed
sane() {
  if "$MNIST" train --data "$WORK/data" --epochs 1 --quiet --threads 1 --output ok.bin "$@" >out.txt 2>err.txt; then
    ok
  else
    bad "refused a sane run: $*"; sed 's/^/  /' err.txt >&2
  fi
}
sane --batch-size 65536 # larger than the data set: one batch of everything
sane --arch cnn --batch-size 1024
sane --lr-schedule step:100000:0.5 --epochs 1

# --- a checkpoint whose recipe is out of range is refused (exit 1, one line) ----
if "$MNIST" train --data "$WORK/data" --epochs 1 --quiet --threads 1 --checkpoint ck.bin --output ok.bin >/dev/null; then
  for edit in 's/"epochs":"1"/"epochs":"0"/' 's/"momentum":"0"/"momentum":"7"/'; do
    size=$(wc -c <ck.bin)
    LC_ALL=C sed "$edit" ck.bin >bad.bin
    if [ "$(wc -c <bad.bin)" -ne "$size" ] || cmp -s ck.bin bad.bin; then
      bad "could not make a malformed checkpoint with $edit"; continue
    fi
    "$MNIST" train --resume bad.bin --data "$WORK/data" --quiet --output never.bin >out.txt 2>err.txt
    rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "^mnist: bad.bin: checkpoint recipe is malformed" err.txt; then
      ok
    else
      bad "resume of a checkpoint edited with $edit: exit $rc"; sed 's/^/  /' err.txt >&2
    fi
  done
else
  bad "could not write a checkpoint"
fi
[ -e never.bin ] && bad "a refused run wrote never.bin"

finish limits
