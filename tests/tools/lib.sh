# shellcheck shell=bash
# Helpers the shell tests share; sourced by tests/*.sh, never run itself.
# It lives in tests/tools/ because CMakeLists.txt makes every tests/*.sh a ctest.
# A test counts its checks in pass and fail and ends with `finish NAME`.
pass=0 fail=0

# work_dir : cd to a fresh $WORK with an empty data/; MNIST_DATA is unset so
# that the binary reads only what the test gives it
work_dir() {
  rm -rf "$WORK" && mkdir -p "$WORK/data" && cd "$WORK" || exit 1
  unset MNIST_DATA
}

ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

# expect CODE CMD... : runs CMD, keeps stdout in out.txt and stderr in err.txt
expect() {
  local want=$1; shift
  "$@" >out.txt 2>err.txt; local got=$?
  if [ "$got" = "$want" ]; then ok; else bad "exit $got, wanted $want: $*"; cat err.txt >&2; fi
}
one_line_err() { [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "^mnist: " err.txt; }

# gen_data DIR N_TRAIN N_TEST SEED : the synthetic data set, or the test ends
gen_data() { "$GEN" "$@" || { echo "FAIL: gen_synthetic" >&2; exit 1; }; }

# finish NAME : the summary line; the status is the test's exit code
finish() {
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}

# one_epoch_check NAME DATA MODEL MIN : trains one epoch on real DATA into
# MODEL, then wants test accuracy >= MIN and `mnist eval` to agree with it.
# The status is the number of failed checks (0 or 1), for `exit`.
one_epoch_check() {
  local name=$1 data=$2 model=$3 min=$4 acc failed=0
  "$MNIST" train --epochs 1 --data "$data" --output "$model" | tee train.txt || exit 1
  acc=$(sed -n 's/^test loss: .* - test accuracy: \([0-9.]*\)$/\1/p' train.txt)
  "$MNIST" eval "$model" --data "$data" | tee eval.txt || exit 1
  if awk -v a="$acc" -v m="$min" 'BEGIN { exit !(a >= m) }'; then echo "ok: 1 epoch test accuracy $acc >= $min"; else echo "FAIL: 1 epoch test accuracy '$acc' < $min"; failed=1; fi
  if grep -qE "^313/313 - .* - accuracy: $acc$" eval.txt; then echo "ok: eval agrees ($acc)"; else echo "FAIL: eval disagrees with training's $acc"; failed=1; fi
  echo "$name: $((2 - failed)) passed, $failed failed"
  return $failed
}
