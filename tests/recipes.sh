#!/usr/bin/env bash
# Presets with recipes, the optimizers and schedules they use, batchnorm and
# --normalize, end to end on a small synthetic data set: usage errors are one
# line with exit 2; a recipe applies where no flag is given and is recorded
# in the model file; a normalised model's file carries the normalisation and
# eval gives training's figure. Usage: recipes.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir
usage_line() { [ "$(wc -l <err.txt)" -le 2 ] && grep -q "^mnist train: " err.txt; }

# --- usage errors -----------------------------------------------------------
for arch in "batchnorm:0.1,dense:10" "batchnorm:,dense:10" "conv:8:3,batchnorm:2d,dense:10"; do
  expect 2 "$MNIST" train --arch "$arch"
  check "arch $arch: usage" usage_line
  check "arch $arch: says batchnorm takes no arguments" grep -q "batchnorm takes no arguments" err.txt
done
for args in "--weight-decay 0.1" "--optimizer adam --weight-decay 0.1" "--lr-schedule onecycle:1.5" \
            "--lr-schedule onecycle:x" "--lr-schedule exponential:0" "--lr-schedule exponential:2" \
            "--normalize 0.5" "--normalize 0.5:0" "--normalize a:b" "--optimizer adagrad" \
            "--optimizer adadelta --momentum 0.9"; do
  # shellcheck disable=SC2086
  expect 2 "$MNIST" train $args
  check "'$args': usage" usage_line
done
expect 0 "$MNIST" summary --arch pytorch-example
check "pytorch-example: PyTorch's parameter count" grep -q "Total params: 1,199,882" out.txt
check "pytorch-example: its recipe shown" grep -q -- "--optimizer adadelta --lr 1.0 --lr-schedule step:1:0.7" out.txt
expect 0 "$MNIST" summary --arch speedrun
check "speedrun: a recipe shown" grep -q -- "--lr-schedule onecycle" out.txt
check "speedrun: BatchNorm's running statistics are non-trainable" grep -qE "Non-trainable params: [1-9]" out.txt
expect 0 "$MNIST" summary --arch cnn
check "cnn: no recipe" bash -c '! grep -q Recipe out.txt'

# --- training ---------------------------------------------------------------
gen_data "$WORK/data" 2000 400 5
D="--data $WORK/data --quiet"
for args in "--optimizer adadelta" "--optimizer adamw --weight-decay 0.05" "--lr-schedule onecycle --lr 0.01" \
            "--lr-schedule exponential:0.8" "--arch conv:4:3,batchnorm,relu,maxpool:2,dense:16,batchnorm,relu,dense:10"; do
  # shellcheck disable=SC2086
  expect 0 "$MNIST" train $D --epochs 2 --output r.bin $args
  a=$(sed -n 's/^test loss: .* - test accuracy: \([0-9.]*\)$/\1/p' out.txt)
  check "'$args' learns (acc=$a)" awk -v a="$a" 'BEGIN { exit !(a >= 0.9) }'
done
check "batchnorm's running statistics saved" grep -aq '"1.running_var"' r.bin
check "batchnorm's count saved as I64" grep -aq '"1.num_batches_tracked":{"dtype":"I64","shape":\[\]' r.bin
# the speedrun recipe, with the epochs cut: its optimizer and schedule are used, flags given win
expect 0 "$MNIST" train --data "$WORK/data" --arch speedrun --epochs 1 --verbose 2 --output s.bin
check "speedrun recipe recorded" grep -aq '"lr_schedule":"onecycle' s.bin
check "the given --epochs wins" grep -aq '"epochs":"1"' s.bin
expect 0 "$MNIST" train $D --arch speedrun --epochs 1 --optimizer sgd --output s2.bin
check "a given optimizer drops the recipe's lr" grep -aq '"lr":"0.00999999978"' s2.bin
# --normalize: in the file, applied by eval (the same accuracy as at the end of training)
expect 0 "$MNIST" train $D --arch cnn --epochs 1 --normalize 0.1307:0.3081 --output n.bin
acc=$(sed -n 's/^test loss: .* - test accuracy: \([0-9.]*\)$/\1/p' out.txt)
check "normalisation recorded" grep -aq '"input_std":"0.308099985"' n.bin
expect 0 "$MNIST" eval n.bin --data "$WORK/data"
check "eval applies the normalisation (acc $acc)" grep -qE "accuracy: $acc$" out.txt
finish recipes
