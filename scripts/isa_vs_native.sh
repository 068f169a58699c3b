#!/usr/bin/env bash
# Training speed of two builds, turn about: seconds per epoch of mlp, wide
# and cnn from `mnist bench --json`, each round runs A then B (B then A on
# odd rounds), and prints each round's B/A ratio of seconds (< 1: B faster)
# and their median per model and thread count.
#   scripts/isa_vs_native.sh A_BINARY B_BINARY [ROUNDS [THREADS...]]
# e.g. scripts/isa_vs_native.sh build-native/mnist build/mnist 5 1 2
# Environment: DATA (default data/mnist), CNN_STEPS (default 100),
# EPOCHS (mlp and wide, default 1). Runs under flock /tmp/mnist-bench.lock.
set -euo pipefail
A=$1 B=$2 R=${3:-3}
shift $(( $# < 3 ? $# : 3 ))
threads=("$@"); [ ${#threads[@]} -gt 0 ] || threads=(1 2)
DATA=${DATA:-data/mnist} CNN_STEPS=${CNN_STEPS:-100} EPOCHS=${EPOCHS:-1}
run() { flock /tmp/mnist-bench.lock "$1" bench --json --data "$DATA" --epochs-time "$EPOCHS" --cnn-steps "$CNN_STEPS" \
          --repeat 1 --gemm-seconds 0.005 --threads "$2" |
        sed -n 's/.*"model": "\([a-z]*\)".*"sec_per_epoch": \([0-9.]*\).*/\1 \2/p'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for t in "${threads[@]}"; do
  for ((r = 0; r < R; r++)); do
    if ((r % 2)); then run "$B" "$t" >"$tmp/b"; run "$A" "$t" >"$tmp/a"; else run "$A" "$t" >"$tmp/a"; run "$B" "$t" >"$tmp/b"; fi
    join <(sort "$tmp/a") <(sort "$tmp/b") | awk -v t="$t" -v r="$r" '{printf "threads %s round %d %-5s A %.4f B %.4f B/A %.4f\n", t, r, $1, $2, $3, $3 / $2}'
  done
done | tee "$tmp/all"
echo "median B/A (seconds; < 1: B faster):"
awk '{print $2, $6, $12}' "$tmp/all" | sort -k1,1n -k2,2 -k3,3g |
  awk '{k = $1 " " $2; v[k, ++n[k]] = $3} END {for (k in n) {m = n[k]; x = (m % 2) ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2; printf "  threads %s: %.4f (%d rounds)\n", k, x, m}}' | sort
