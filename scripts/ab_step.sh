#!/usr/bin/env bash
# ab_step.sh OLD NEW [ROUNDS] [THREADS]: training speed of two `mnist`
# binaries, turn about in one run: each round runs `mnist bench` (training
# only: mlp and wide one epoch each, cnn 300 steps extrapolated) with the
# old and the new binary, alternating which goes first, and the table gives
# each model's per-round ratio new/old (seconds per epoch; below 1 is
# faster) and their median. On a shared machine compare only such ratios.
set -u
old=$1 new=$2 rounds=${3:-5} threads=${4:-2}
data=${MNIST_DATA:-$(cd "$(dirname "$0")/.." && pwd)/data/mnist}
[ -d "$data" ] || data=$(cd "$(dirname "$0")/../.." && pwd)/shared/data/mnist
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
run() { # BIN OUT: seconds per epoch of mlp wide cnn, one per line
  "$1" bench --gemm-only >/dev/null 2>&1 # warm the page cache and the CPU
  "$1" bench --models mlp,wide,cnn --epochs-time 1 --cnn-steps 300 --threads "$threads" --data "$data" --json 2>/dev/null |
    sed -n 's/.*"model": "\([a-z0-9]*\)".*"sec_per_epoch": \([0-9.e+-]*\).*/\1 \2/p' > "$2"
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then run "$old" "$tmp/o$r"; run "$new" "$tmp/n$r"; else run "$new" "$tmp/n$r"; run "$old" "$tmp/o$r"; fi
  paste "$tmp/o$r" "$tmp/n$r" | awk -v r="$r" '{ printf "round %d %-5s old %.3f s new %.3f s ratio %.3f\n", r, $1, $2, $4, $4 / $2 }'
done | tee "$tmp/all"
echo "median per-round ratio new/old ($rounds rounds, $threads threads):"
for m in mlp wide cnn; do
  awk -v m="$m" '$3 == m { print $NF }' "$tmp/all" | sort -n | awk -v m="$m" '{ v[NR] = $1 } END { if (NR) printf "  %-5s %.3f\n", m, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
done
