#!/usr/bin/env bash
# The ctest fuzz_regress: replays every fuzz target over its generated seed
# corpus and its committed regression inputs, with the driver build
# (tests/fuzz/driver.c) of each target.
#   regress.sh SEEDS_DIR REGRESS_DIR fuzz_<name>_run...
# For fuzz_<name>_run it runs SEEDS_DIR/<name> and REGRESS_DIR/<name>, all in
# one process; if that fails, each input once more on its own, to name every
# input that fails (with the target's message). Fails when a target crashes
# or an invariant fails, or when a target has no inputs.
set -u
seeds=$1 regress=$2
shift 2
fail=0
for bin in "$@"; do
  name=$(basename "$bin")
  name=${name#fuzz_}
  name=${name%_run}
  dirs=()
  [ -d "$seeds/$name" ] && dirs+=("$seeds/$name")
  [ -d "$regress/$name" ] && dirs+=("$regress/$name")
  n=0
  [ ${#dirs[@]} -gt 0 ] && n=$(find "${dirs[@]}" -maxdepth 1 -type f | wc -l)
  if [ "$n" -lt 1 ]; then
    echo "FAIL: fuzz_$name: no inputs in $seeds/$name or $regress/$name" >&2
    fail=1
    continue
  fi
  if { "$bin" -q "${dirs[@]}" >/dev/null 2>&1; } 2>/dev/null; then
    echo "fuzz_$name: $n inputs, no failure"
    continue
  fi
  fail=1
  while IFS= read -r f; do
    { "$bin" -q "$f" >/dev/null 2>"fuzz_$name.err"; } 2>/dev/null && continue
    echo "FAIL: fuzz_$name on $f:" >&2
    grep -E "invariant failed|ERROR|SUMMARY|#[0-3] 0x|^mnist" "fuzz_$name.err" | head -8 | sed 's/^/  /' >&2
  done < <(find "${dirs[@]}" -maxdepth 1 -type f | sort)
done
exit $fail
