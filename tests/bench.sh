#!/usr/bin/env bash
# `mnist bench`: the SGEMM table has every shape with positive GFLOP/s for
# both thread counts, and bad flags are usage errors. Never asserts a speed.
# Usage: bench.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK" || exit 1

expect 0 "$MNIST" bench --help;  check "help" grep -q "Usage: mnist bench" out.txt
for args in "--bogus" "--repeat 0" "--repeat" "--threads x" "--models mlp,lenet" "--models mlp,mlp" \
            "--epochs-time 0" "--cnn-steps -1" "--gemm-seconds 0"; do
  # shellcheck disable=SC2086 # split on purpose
  expect 2 "$MNIST" bench $args
  check "usage error names the command: $args" grep -q "^mnist bench: " err.txt
done

expect 0 "$MNIST" bench --gemm-only --repeat 1 --gemm-seconds 0.02
cp out.txt gemm.txt
check "no stderr" test ! -s err.txt
for shape in "mlp dense1 fwd   NT    32   128   784" "mlp dense1 dW    TN   128   784    32" \
             "mlp dense2 fwd   NT    32    10   128" "mlp dense2 dW    TN    10   128    32" \
             "mlp dense2 dX    NN    32   128    10" "wide dense1 fwd  NT   128   512   784" \
             "wide dense1 dW   TN   512   784   128" "wide dense2 fwd  NT   128    10   512" \
             "wide dense2 dW   TN    10   512   128" "wide dense2 dX   NN   128   512    10" \
             "square 256       NN   256   256   256" "square 512       NN   512   512   512" \
             "square 1024      NN  1024  1024  1024" "square 2048      NN  2048  2048  2048"; do
  check "row for $shape" grep -q "^$shape " gemm.txt
done
# shellcheck disable=SC2016 # an awk program
check "14 rows, each with two positive numbers" awk '
  / (NN|NT|TN) / { rows++; if (!($(NF - 1) > 0 && $NF > 0)) bad++ }
  END { exit !(rows == 14 && !bad) }' gemm.txt
check "thread columns" grep -q "1 thread" gemm.txt
check "no training with --gemm-only" bash -c '! grep -q "^Training" gemm.txt'

finish bench
