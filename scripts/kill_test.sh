#!/usr/bin/env bash
# Crash-consistency test of checkpoints: kills `mnist train --checkpoint`
# with SIGKILL at random moments and checks what is left.
#
#   scripts/kill_test.sh [N [MNIST_BINARY [GEN_SYNTHETIC]]]
#
# N rounds (default 200); the binaries default to build/mnist and
# build/gen_synthetic. Environment: KILL_SEED (seed of the random delays; the
# default is printed so a run can be repeated), KILL_WORK (work directory;
# default a new one under /tmp, removed on success).
#
# Each round starts training on a small synthetic data set (epochs of about
# 0.1 s) with --checkpoint ckpt.bin and --epochs 100000, either afresh or
# resuming the checkpoint the previous round left, kills it after 20 ms to
# 1.2 s, and checks that
#   - the process was killed (it did not fail or finish on its own);
#   - ckpt.bin, if there is one, is complete: `mnist eval ckpt.bin` works,
#     and every fifth time `mnist train --resume ckpt.bin` runs one more
#     epoch to a model that evaluates;
#   - no model.bin appeared and nothing else is in the directory but
#     temporary files "<name>.tmp.<pid>" of killed writers (a SIGKILL cannot
#     be cleaned up after at once; they are counted and left in place).
# At the end one run trains to completion with the same --checkpoint and
# --output, and its saves must have removed every such file.
# Exits 1 if any round failed.
set -u
N=${1:-200}
src=$(cd "$(dirname "$0")/.." && pwd)
MNIST=${2:-$src/build/mnist}
GEN=${3:-$src/build/gen_synthetic}
for b in "$MNIST" "$GEN"; do
  [ -x "$b" ] || { echo "kill_test: $b: not an executable (build first: cmake --build build)" >&2; exit 2; }
done
MNIST=$(cd "$(dirname "$MNIST")" && pwd)/$(basename "$MNIST")
GEN=$(cd "$(dirname "$GEN")" && pwd)/$(basename "$GEN")
seed=${KILL_SEED:-$(( $$ ^ $(date +%s) ))}
RANDOM=$seed
work=${KILL_WORK:-$(mktemp -d /tmp/mnist-kill.XXXXXX)}
mkdir -p "$work/data" && cd "$work" || exit 2
rm -f ckpt.bin model.bin ./*.tmp.*
"$GEN" data 10000 300 7 || { echo "kill_test: gen_synthetic failed" >&2; exit 2; }
echo "kill_test: $N rounds, KILL_SEED=$seed, in $work"

fail=0 with_ckpt=0 resumed=0 stale=0 fresh=0 continued=0
bad() { fail=$((fail + 1)); echo "FAIL (round $i): $*" >&2; }
run_q() { "$MNIST" "$@" >q.out 2>q.err; }

for i in $(seq 1 "$N"); do
  if [ -f ckpt.bin ] && [ $((RANDOM % 2)) -eq 0 ]; then
    args=(--resume ckpt.bin) continued=$((continued + 1))
  else
    rm -f ckpt.bin
    args=(--batch-size 64 --seed "$i") fresh=$((fresh + 1))
  fi
  "$MNIST" train "${args[@]}" --epochs 100000 --data data --checkpoint ckpt.bin --output model.bin --quiet \
    --threads 1 >train.out 2>train.err &
  pid=$!
  ms=$((20 + RANDOM % 1180))
  sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rc=$?
  [ "$rc" -eq 137 ] || bad "train exited with $rc before it was killed: $(head -c 300 train.err)"

  # what is in the directory
  for f in *; do
    case $f in
      data | ckpt.bin | train.out | train.err | q.out | q.err) ;;
      ckpt.bin.tmp.* | model.bin.tmp.*) stale=$((stale + 1)) ;;
      model.bin) bad "model.bin written by a run that cannot have finished"; rm -f model.bin ;;
      *) bad "unexpected file '$f'"; rm -rf -- "$f" ;;
    esac
  done

  [ -f ckpt.bin ] || continue
  with_ckpt=$((with_ckpt + 1))
  run_q eval ckpt.bin --data data || bad "checkpoint does not load after SIGKILL at ${ms} ms: $(head -c 300 q.err)"
  if [ $((with_ckpt % 5)) -eq 0 ]; then
    epoch=$(head -c 65536 ckpt.bin | grep -ao '"train.epoch":"[0-9]*"' | grep -o '[0-9]*')
    if [ -z "$epoch" ]; then
      bad "checkpoint metadata has no train.epoch"
    elif run_q train --resume ckpt.bin --epochs $((epoch + 1)) --data data --output resumed.bin --quiet --threads 1 &&
         run_q eval resumed.bin --data data; then
      resumed=$((resumed + 1))
    else
      bad "resuming the checkpoint of epoch $epoch failed: $(head -c 300 q.err)"
    fi
    rm -f resumed.bin
  fi
done

# a run that completes removes what the killed ones left (plus one made
# here, of a process that has exited, so that there is always one)
dead=$(sh -c 'echo $$')
: >"ckpt.bin.tmp.$dead"
left_before=$(find . -maxdepth 1 -name '*.tmp.*' | wc -l)
if [ -f ckpt.bin ]; then args=(--resume ckpt.bin); else args=(--batch-size 64 --seed 1); fi
epoch=$(head -c 65536 ckpt.bin 2>/dev/null | grep -ao '"train.epoch":"[0-9]*"' | grep -o '[0-9]*')
run_q train "${args[@]}" --epochs $((${epoch:-0} + 1)) --data data --checkpoint ckpt.bin --output model.bin --quiet \
  --threads 1 || bad "the final run failed: $(head -c 300 q.err)"
left_after=$(find . -maxdepth 1 -name '*.tmp.*' | wc -l)
[ "$left_after" -eq 0 ] || bad "$left_after temporary files of killed writers survived a completed save"

echo "kill_test: $N rounds ($fresh fresh, $continued resuming the last checkpoint), $with_ckpt left a checkpoint," \
     "all loaded: $([ $fail -eq 0 ] && echo yes || echo no); $resumed resumed to completion;" \
     "temporary files of killed writers: seen $stale times, $left_before at the end, all removed by the final" \
     "run: $([ "$left_after" -eq 0 ] && echo yes || echo no); $fail failures"
if [ $fail -eq 0 ] && [ -z "${KILL_WORK:-}" ]; then cd / && rm -rf "$work"; fi
[ $fail -eq 0 ]
