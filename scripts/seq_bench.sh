#!/bin/sh
# seq_bench.sh ARCH [BATCH] [STEPS] [ROUNDS] - ours against PyTorch, 2 threads,
# turn about: each round times STEPS training steps of ARCH (a preset of
# scripts/torch_common.py: rnn, gru, vit, ...) in each, and prints both
# ms/step and the ratio; the last line is the median of the rounds' ratios.
# Builds scripts/steps_time.c against build/libmnistlib.a first; ours runs with
# GOMP_SPINCOUNT=30000 as `mnist` sets it for itself.
set -e
arch=${1:?usage: seq_bench.sh ARCH [BATCH] [STEPS] [ROUNDS]}
B=${2:-32} S=${3:-50} R=${4:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=${TMPDIR:-/tmp}/steps_time.$$
cc -O3 -march=native -fopenmp -I"$root/include" "$here/steps_time.c" "$root/build/libmnistlib.a" -lm -o "$bin"
case $arch in
rnn) ours="lstm:64,batchnorm,dense:32,relu,dense:10" ;;
gru) ours="gru:64,batchnorm,dense:32,relu,dense:10" ;;
vit) ours="vit" ;;
*) ours=$arch ;;
esac
ratios=""
i=0
while [ $i -lt "$R" ]; do
    a=$(GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-30000} "$bin" "$ours" "$B" "$S" 2)
    t=$(cd "$here" && /usr/bin/python3 torch_steps.py "$arch" "$B" "$S" 2)
    r=$(echo "$t $a" | awk '{printf "%.3f", $1 / $2}')
    echo "round $((i + 1)): mnist $a ms/step, torch $t ms/step, torch/mnist $r"
    ratios="$ratios $r"
    i=$((i + 1))
done
rm -f "$bin"
echo "$ratios" | tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {printf "median torch/mnist time ratio (%s, batch %s): %.3f\n", "'"$arch"'", "'"$B"'", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
