#!/usr/bin/env bash
# End-to-end tests of the `mnist` binary on a small synthetic data set this
# test writes itself: usage errors, training, evaluation, reload, model files,
# determinism. Usage: cli.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir

# --- usage --------------------------------------------------------------
expect 2 "$MNIST"
expect 0 "$MNIST" --help;            check "help lists train" grep -q "train" out.txt
expect 0 "$MNIST" --version;         check "version" grep -qE '^mnist [0-9]+\.[0-9]+' out.txt
expect 2 "$MNIST" frobnicate
for cmd in train eval summary; do
  expect 0 "$MNIST" $cmd --help;     check "$cmd --help" grep -q "Usage: mnist $cmd" out.txt
done
# every preset and the conv options are named in the help
expect 0 "$MNIST" train --help;      check "train --help names cnn and lenet5" grep -q "cnn, lenet5" out.txt
expect 0 "$MNIST" summary --help;    check "summary --help shows conv's options" grep -q ":he|:glorot" out.txt
expect 2 "$MNIST" train --bogus
expect 2 "$MNIST" train --epochs
expect 2 "$MNIST" train --epochs abc
expect 2 "$MNIST" train --epochs -1
expect 2 "$MNIST" train --batch-size 0
expect 2 "$MNIST" train --batch-size 1000000000
expect 2 "$MNIST" train --lr -3
expect 2 "$MNIST" train --optimizer adagrad
expect 2 "$MNIST" train --arch "dense:999999999"
expect 2 "$MNIST" train --arch "dense:128,warp,dense:10"
expect 2 "$MNIST" train --validation-split 1.5
expect 2 "$MNIST" train --momentum 0.9
expect 2 "$MNIST" eval
expect 2 "$MNIST" eval --json
expect 0 "$MNIST" summary;               check "mlp params" grep -q "Total params: 101,770" out.txt
expect 0 "$MNIST" summary --arch wide;   check "wide params" grep -q "Total params: 407,050" out.txt

# --- data errors: one line naming the file, exit 1, no model written ------
expect 1 "$MNIST" train --data "$WORK/nowhere" --output never.bin
check "missing data: one line" one_line_err
check "missing data: names the file" grep -q "nowhere/train-images" err.txt
check "no model after failure" test ! -e never.bin
printf 'garbage' >"$WORK/data/train-images-idx3-ubyte"
printf 'garbage' >"$WORK/data/train-labels-idx1-ubyte"
expect 1 "$MNIST" train --data "$WORK/data" --output never.bin
check "bad idx: one line" one_line_err
check "bad idx: names the file" grep -q "train-" err.txt
rm -f "$WORK"/data/*

# --- train, eval, reload ---------------------------------------------------
gen_data "$WORK/data" 3000 500 11
expect 0 "$MNIST" train --epochs 2 --data "$WORK/data" --output m1.bin --seed 3
cp out.txt train1.txt
check "epoch header" grep -q "^Epoch 1/2" train1.txt
check "keras line" grep -qE '^94/94 \[=+\] - [0-9]+s [0-9]+[mu]?s/step - loss: [0-9.]+ - accuracy: [0-9.]+$' train1.txt
check "model file" test -s m1.bin
acc=$(sed -n 's/^test loss: \([0-9.]*\) - test accuracy: \([0-9.]*\)$/\2/p' train1.txt)
loss=$(sed -n 's/^test loss: \([0-9.]*\) - test accuracy: \([0-9.]*\)$/\1/p' train1.txt)
check "learns the synthetic set (acc=$acc)" awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }'

expect 0 "$MNIST" eval m1.bin --data "$WORK/data"
check "eval line" grep -qE "^16/16 - [0-9]+s - loss: $loss - accuracy: $acc$" out.txt
check "confusion matrix" grep -q "Confusion matrix" out.txt
check "per-class table" grep -q "precision" out.txt
MNIST_DATA="$WORK/data" expect 0 "$MNIST" eval m1.bin --json
check "json" grep -qE "^\{\"model\": \"m1.bin\", \"samples\": 500, .*\"accuracy\": ${acc}[0-9]*, \"confusion\": \[\[" out.txt
if command -v python3 >/dev/null; then
  check "json parses" python3 -c 'import json,sys; d=json.load(open("out.txt")); assert len(d["confusion"]) == 10 and len(d["per_class"]) == 10'
fi

# same seed: byte-identical model; another seed: different
expect 0 "$MNIST" train --epochs 2 --data "$WORK/data" --output m2.bin --seed 3 --quiet
check "same seed, same bytes" cmp -s m1.bin m2.bin
expect 0 "$MNIST" train --epochs 2 --data "$WORK/data" --output m3.bin --seed 4 --quiet
check "other seed, other bytes" bash -c '! cmp -s m1.bin m3.bin'
# thread count does not change the result
expect 0 "$MNIST" train --epochs 1 --data "$WORK/data" --output t1.bin --threads 1 --quiet
expect 0 "$MNIST" train --epochs 1 --data "$WORK/data" --output t2.bin --threads 2 --quiet
check "1 and 2 threads, same bytes" cmp -s t1.bin t2.bin

# other recipes run and learn
for args in "--arch wide --optimizer rmsprop --batch-size 128" "--arch 3b1b --optimizer sgd --lr 0.5" \
            "--optimizer sgd --momentum 0.9 --nesterov" "--validation-split 0.2 --batch-size 64"; do
  expect 0 "$MNIST" train --epochs 2 --data "$WORK/data" --output r.bin $args
  a=$(sed -n 's/^test loss: .* - test accuracy: \([0-9.]*\)$/\1/p' out.txt)
  check "recipe '$args' learns (acc=$a)" awk -v a="$a" 'BEGIN { exit !(a >= 0.9) }'
done
check "validation metrics" grep -q "val_loss: [0-9.]* - val_accuracy: [0-9.]*$" out.txt

# --- checkpoints, resume, Ctrl-C, divergence, logs ---------------------------
D="--data $WORK/data --quiet --batch-size 64"
expect 0 "$MNIST" train $D --epochs 4 --output straight.bin
expect 0 "$MNIST" train $D --epochs 2 --output half.bin --checkpoint ck.bin
check "checkpoint written" test -s ck.bin
expect 0 "$MNIST" train --resume ck.bin --epochs 4 --data "$WORK/data" --quiet --output resumed.bin --log resumed.csv
check "4 epochs = 2 + resume 2, byte for byte" cmp -s straight.bin resumed.bin
check "resume log rows" test "$(grep -c '^[23],' resumed.csv)" -eq 2
expect 2 "$MNIST" train --resume ck.bin --arch wide
# the same with data augmentation, whose draws the checkpoint carries on
expect 0 "$MNIST" train $D --epochs 3 --output aug_straight.bin --augment shift:2,flip
expect 0 "$MNIST" train $D --epochs 1 --output aug_half.bin --checkpoint aug_ck.bin --augment shift:2,flip
expect 0 "$MNIST" train --resume aug_ck.bin --epochs 3 --data "$WORK/data" --quiet --output aug_resumed.bin
check "augmented: 3 epochs = 1 + resume 2, byte for byte" cmp -s aug_straight.bin aug_resumed.bin
expect 0 "$MNIST" train $D --epochs 1 --output plain1.bin
"$MNIST" eval plain1.bin --data "$WORK/data" --json >plain1.json 2>/dev/null
"$MNIST" eval aug_half.bin --data "$WORK/data" --json >aug1.json 2>/dev/null
check "augmentation changes the training (test loss differs)" bash -c \
  '[ -s "$0" ] && [ -s "$1" ] && [ "$(grep -o "\"loss\": *[0-9.e-]*" "$0")" != "$(grep -o "\"loss\": *[0-9.e-]*" "$1")" ]' \
  plain1.json aug1.json
check "augment recorded in the model file" grep -aq '"augment":"shift:2,flip"' aug_straight.bin
expect 2 "$MNIST" train --resume aug_ck.bin --augment none
# the weights' moving average rides in the checkpoint as well
expect 0 "$MNIST" train $D --epochs 3 --output ema_straight.bin --ema 0.99
expect 0 "$MNIST" train $D --epochs 1 --output ema_half.bin --checkpoint ema_ck.bin --ema 0.99
expect 0 "$MNIST" train --resume ema_ck.bin --epochs 3 --data "$WORK/data" --quiet --output ema_resumed.bin
check "ema: 3 epochs = 1 + resume 2, byte for byte" cmp -s ema_straight.bin ema_resumed.bin
check "ema recorded in the model file" grep -aq '"ema":"0.99"' ema_straight.bin
"$MNIST" eval ema_half.bin --data "$WORK/data" --json >ema1.json 2>/dev/null
check "ema changes the weights (test loss differs from plain training's)" bash -c \
  '[ -s "$0" ] && [ -s "$1" ] && [ "$(grep -o "\"loss\": *[0-9.e-]*" "$0")" != "$(grep -o "\"loss\": *[0-9.e-]*" "$1")" ]' \
  plain1.json ema1.json
for bad in 1 0.2 x; do
  expect 2 "$MNIST" train --ema "$bad"
  check "--ema $bad: usage names the option" grep -q -- "--ema" err.txt
done
for bad in shift:0 shift:9 rotate:5 "flip,flip"; do
  expect 2 "$MNIST" train --augment "$bad"
  check "--augment $bad: usage names the option" grep -q -- "--augment" err.txt
done
expect 1 "$MNIST" train --resume m1.bin --data "$WORK/data"
check "resume from a model file: says so" grep -q "m1.bin: not a checkpoint" err.txt
expect 0 "$MNIST" train $D --epochs 2 --output logged.bin --log metrics.csv --validation-split 0.1
check "csv header" test "$(head -1 metrics.csv)" = "epoch,accuracy,loss,val_accuracy,val_loss"
check "csv rows" grep -qE '^1,[01]\.[0-9]+,[0-9.]+,[01]\.[0-9]+,[0-9.]+$' metrics.csv
expect 0 "$MNIST" train $D --epochs 6 --output es.bin --validation-split 0.2 --early-stopping 1 --lr 0.05 --verbose 2
check "early stopping" grep -q "early stopping; restoring the weights of epoch" out.txt
expect 2 "$MNIST" train --early-stopping 2
expect 0 "$MNIST" train $D --epochs 2 --output sched.bin --lr-schedule step:1:0.5
expect 0 "$MNIST" train $D --epochs 2 --output sched.bin --lr-schedule cosine
expect 2 "$MNIST" train --lr-schedule step:0:2
expect 2 "$MNIST" train --lr-schedule linear
rm -f div.bin
expect 1 "$MNIST" train --data "$WORK/data" --lr 1e3 --output div.bin
check "divergence: one line" one_line_err
check "divergence: says so" grep -q "diverged at epoch 1, step" err.txt
check "divergence: no model" test ! -e div.bin
# Ctrl-C: finishes the step, saves the checkpoint, exits 130, and resuming completes
mkdir -p "$WORK/big" && "$GEN" "$WORK/big" 30000 500 12
"$MNIST" train --data "$WORK/big" --epochs 50 --output int.bin --checkpoint int.ck --quiet >/dev/null 2>int.err &
pid=$!
sleep 2
kill -INT $pid
wait $pid
check "SIGINT exits 130" test $? -eq 130
check "SIGINT says where" grep -qE "interrupted (at|after) epoch [0-9]+.*checkpoint saved to int.ck" int.err
check "no model after SIGINT" test ! -e int.bin
expect 0 "$MNIST" train --resume int.ck --epochs 1 --data "$WORK/big" --quiet --output int.bin
check "resume after SIGINT" test -s int.bin
expect 0 "$MNIST" eval int.bin --data "$WORK/big"

# --- corrupt model files ----------------------------------------------------
head -c 100 m1.bin >trunc.bin
expect 1 "$MNIST" eval trunc.bin --data "$WORK/data"
check "truncated model: one line naming it" bash -c 'one_line() { [ "$(wc -l <err.txt)" -eq 1 ]; }; one_line && grep -q "trunc.bin" err.txt'
printf 'not a model at all' >junk.bin
expect 1 "$MNIST" eval junk.bin --data "$WORK/data"
check "junk model: names it" grep -q "junk.bin" err.txt
expect 1 "$MNIST" eval missing.bin --data "$WORK/data"
check "missing model: names it" grep -q "missing.bin" err.txt
# a failed save leaves the old file untouched and no temp file behind
cp m1.bin keep.bin
expect 1 "$MNIST" train --epochs 1 --data "$WORK/data" --output "$WORK/no/such/dir/m.bin" --quiet
check "unwritable output: one line" one_line_err
check "no temp files left" bash -c '! ls "$0"/*.tmp.* >/dev/null 2>&1' "$WORK"
# bad output paths fail before the data is even read, naming the path
expect 1 "$MNIST" train --data "$WORK/nowhere" --output "$WORK/no/such/dir/m.bin"
check "unwritable output: checked first" grep -q "no/such/dir/m.bin" err.txt
expect 1 "$MNIST" train --data "$WORK/nowhere" --output "$WORK"
check "output is a directory: one line" one_line_err
check "output is a directory: says so" grep -q "is a directory" err.txt
expect 1 "$MNIST" train --data "$WORK/nowhere" --checkpoint "$WORK/no/such/ck.bin"
check "unwritable checkpoint: names it" grep -q "no/such/ck.bin" err.txt
# temp files of writers that died (SIGKILL mid-save) go at the next save;
# a live writer's, other names' and non-pid suffixes stay
dead=$(sh -c 'echo $$')
touch "keep.bin.tmp.$dead" "keep.bin.tmp.$$" "keep.bin.tmp.x1" "other.bin.tmp.$dead"
expect 0 "$MNIST" train --epochs 1 --data "$WORK/data" --output keep.bin --quiet
check "dead writer's temp file removed" test ! -e "keep.bin.tmp.$dead"
check "live writer's temp file kept" test -e "keep.bin.tmp.$$"
check "other temp files kept" test -e "keep.bin.tmp.x1" -a -e "other.bin.tmp.$dead"
rm -f keep.bin.tmp.* other.bin.tmp.*

finish cli
