#!/usr/bin/env bash
# Fashion-MNIST as Debian ships it (dataset-fashion-mnist: only .gz files in
# /usr/share/datasets/fashion-mnist) must train and evaluate like MNIST: the
# loader reads the .gz files directly. One epoch of the default model must
# reach 80% (it gives 83-84% here; a broken loader or label mix-up gives
# ~10%), and `mnist eval` must report the same accuracy.
# Skips (exit 77, with a message) when the package is not installed.
# Usage: fashion_mnist.sh MNIST SOURCE_DIR WORK_DIR [GEN_SYNTHETIC]
set -u
MNIST=$1 SRC=$2 WORK=$3
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
data=${FASHION_MNIST_DATA:-/usr/share/datasets/fashion-mnist}
if ! ls "$data"/train-images*idx3-ubyte* >/dev/null 2>&1; then
  echo "SKIP: no Fashion-MNIST in $data (apt-get install dataset-fashion-mnist)"
  exit 77
fi
mkdir -p "$WORK" && cd "$WORK" || exit 1
echo "Fashion-MNIST from $data: $(ls "$data" | tr '\n' ' ')"
one_epoch_check fashion_mnist "$data" fashion.bin 0.80
exit $?
