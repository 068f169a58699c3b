#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan) and runs them.
#
#   scripts/fuzz.sh [-t SECONDS] [-r RUNS] [-1] [TARGET...]
#
#   -t SECONDS  run each target for this long (default 60)
#   -r RUNS     stop a target after this many inputs; with -t, at whichever
#               comes first (`-t 1800 -r 10000000` is the issue's campaign)
#   -1          a plain run that stops at the first crash (default: go on)
#   TARGET      idx, gzip, modelfile, arch, image (default: all that are built)
#
# Environment: BUILD_DIR (default build-fuzz, relative to the source tree),
# CC (default clang), NICE (default 10: runs under `nice -n 10`).
# Targets run one after another on one core (-t: libFuzzer's fork mode with
# one worker, continuing after crashes). Each keeps a working corpus in
# BUILD_DIR/fuzz-corpus/<target> (new inputs go there; it starts from the
# generated seeds and tests/fuzz/regress/<target>), artifacts in
# BUILD_DIR/fuzz-artifacts/<target>. Crashes, leaks, timeouts and
# out-of-memory inputs are copied to tests/fuzz/regress/<target>/ so that the
# ctest fuzz_regress replays them from then on. Prints per target the
# executions, time, corpus size and crashes; exits 1 if any target crashed.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
secs= runs= plain=
while getopts "t:r:1h" o; do
  case $o in
    t) secs=$OPTARG ;;
    r) runs=$OPTARG ;;
    1) plain=1 ;;
    *) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ -n "$secs$runs" ] || secs=60
build=${BUILD_DIR:-build-fuzz}
case $build in /*) ;; *) build=$src/$build ;; esac

cmake -S "$src" -B "$build" -DMNIST_FUZZ=ON -DCMAKE_C_COMPILER="${CC:-clang}" -DCMAKE_BUILD_TYPE=Release >/dev/null ||
  { echo "fuzz.sh: cmake configure failed (is clang installed? apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
cmake --build "$build" -j2 >"$build/fuzz-build.log" 2>&1 ||
  { echo "fuzz.sh: build failed, see $build/fuzz-build.log" >&2; tail -20 "$build/fuzz-build.log" >&2; exit 1; }

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in idx gzip modelfile arch image npz csv; do [ -x "$build/fuzz_$t" ] && targets+=("$t"); done
fi

# inputs longer than these say nothing new about the format
max_len() {
  case $1 in
    arch) echo 1200 ;;        # MN_ARCH_MAX is 1024
    modelfile) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

# file I/O of the targets that write their input to a temporary file: in RAM if we can
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi

status=0
printf '%-10s %12s %8s %8s %8s\n' target executions seconds corpus crashes
for t in "${targets[@]}"; do
  bin=$build/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz.sh: no target $t ($bin)" >&2; status=1; continue; }
  corpus=$build/fuzz-corpus/$t art=$build/fuzz-artifacts/$t
  rm -rf "$art"
  mkdir -p "$corpus" "$art" "$src/tests/fuzz/regress/$t"
  # runs go on after a crash (fork mode, one worker), so one bug does not end
  # the campaign; -1 is a plain run that stops at the first
  limit=()
  [ -n "$secs" ] && limit+=(-max_total_time="$secs")
  [ -n "$runs" ] && limit+=(-runs="$runs")
  [ -n "$plain" ] || limit+=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  start=$(date +%s)
  nice -n "${NICE:-10}" "$bin" "${limit[@]}" -max_len="$(max_len "$t")" -timeout=20 -rss_limit_mb=2560 \
    -print_final_stats=1 -artifact_prefix="$art/" "$corpus" "$build/fuzz-seeds/$t" "$src/tests/fuzz/regress/$t" \
    >"$build/fuzz-$t.log" 2>&1
  rc=$?
  secs_used=$(($(date +%s) - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log" | tail -1)
  [ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$build/fuzz-$t.log" | tail -1) # fork mode
  crashes=0
  for f in "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-* "$art"/slow-unit-*; do
    [ -e "$f" ] || continue
    case $(basename "$f") in slow-unit-*) continue ;; esac
    crashes=$((crashes + 1))
    cp -n "$f" "$src/tests/fuzz/regress/$t/"
  done
  printf '%-10s %12s %8s %8s %8s\n' "$t" "${execs:-?}" "$secs_used" "$(find "$corpus" -type f | wc -l)" "$crashes"
  if [ $rc -ne 0 ] || [ $crashes -ne 0 ]; then
    status=1
    echo "  $t: exit $rc; log $build/fuzz-$t.log; inputs copied to tests/fuzz/regress/$t/:" >&2
    for f in "$art"/*; do # each input once more, for its stack
      [ -e "$f" ] || continue
      echo "    $(basename "$f"):" >&2
      "$bin" "$f" 2>&1 | grep -E "ERROR|SUMMARY|invariant failed|#[0-5] 0x" | head -8 | sed 's/^/      /' >&2
    done
  fi
done
exit $status
