#!/usr/bin/env bash
# onnx_check.sh - exports each preset's model to ONNX, runs onnx's checker
# (Debian's python3-onnx) and ONNX Runtime (npm's onnxruntime-node, CPU) on
# the whole test set, and compares with `mnist eval`: the same predictions on
# every image and the largest |probability difference|.
#
#   scripts/onnx_check.sh [--build DIR] [--data DIR] [--models DIR] [PRESET...]
#
# Presets default to mlp wide 3b1b cnn lenet5. A model DIR/<preset>.bin that
# does not exist is trained first (1 epoch: mnist train --arch PRESET
# --epochs 1). ONNX Runtime is installed, when missing, into
# <build>/onnxruntime with `npm install --ignore-scripts` (the package's
# install script would download GPU binaries; the CPU one is in the package).
# Exits non-zero if any check fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build data=${MNIST_DATA:-/work/shared/data/mnist} models=/tmp/mnist-onnx-check
presets=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    -*) echo "onnx_check.sh: unknown option $1" >&2; exit 2 ;;
    *) presets+=("$1"); shift ;;
  esac
done
[ ${#presets[@]} -gt 0 ] || presets=(mlp wide 3b1b cnn lenet5)
mnist=$build/mnist
[ -x "$mnist" ] || { echo "onnx_check.sh: no $mnist (build first)" >&2; exit 1; }
ort=${MNIST_ONNXRUNTIME_DIR:-$build/onnxruntime}
if [ ! -d "$ort/node_modules/onnxruntime-node" ]; then
  echo "installing onnxruntime-node into $ort"
  mkdir -p "$ort" && npm install --silent --ignore-scripts --prefix "$ort" onnxruntime-node@1.30 || exit 1
fi
mkdir -p "$models" || exit 1
status=0
for p in "${presets[@]}"; do
  bin=$models/$p.bin
  if [ ! -e "$bin" ]; then
    "$mnist" train --arch "$p" --epochs 1 --data "$data" --output "$bin" >"$models/$p.train.txt" || { status=1; continue; }
  fi
  "$mnist" export "$bin" --onnx "$models/$p.onnx" >/dev/null || { status=1; continue; }
  acc=$("$mnist" eval "$bin" --data "$data" --probs "$models/$p.f32" | sed -n 's/.*accuracy: \([0-9.]*\)$/\1/p')
  if /usr/bin/python3 -c "import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)" \
       "$models/$p.onnx"; then chk=passes; else chk=FAILS; status=1; fi
  line=$(node "$here/onnx_check.js" "$models/$p.onnx" "$data" "$models/$p.f32" --ort "$ort") || status=1
  printf '%-7s eval accuracy %s, checker %s, ONNX Runtime: %s\n' "$p" "$acc" "$chk" "${line#*: }"
done
exit $status
