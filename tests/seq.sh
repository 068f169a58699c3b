#!/usr/bin/env bash
# The sequence kinds from the command line: one-line usage errors (exit 2)
# for impossible arch strings, the summary of the presets rnn and vit, a
# short training of an LSTM and a small vision transformer on synthetic
# data (well above the 10% of guessing) that `mnist eval` agrees with, and, when /usr/bin/python3 has torch,
# the same loss and accuracy from scripts/torch_eval.py on those files.
# Usage: seq.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir

usage_err() { [ "$(wc -l <err.txt)" -le 2 ] && head -1 err.txt | grep -q "^mnist summary: architecture .*$1"; }
for spec in "lstm:0|unit count" "gru:64:bogus|unknown option" "flatten,lstm:8,dense:10|at least 2 steps" \
            "patches:29:16,mean,dense:10|larger than the input" "patches:4:16,transformer:16:3:32,mean,dense:10|do not divide" \
            "patches:4:16,transformer:0:4:32|width" "patches:4:16,transformer:32:4:32|needs a sequence of 32" \
            "dense:32,mean,dense:10|at least 2 steps" "patches:4|patch size"; do
  arch=${spec%%|*} says=${spec#*|}
  expect 2 "$MNIST" summary --arch "$arch"
  check "one-line error for '$arch' saying '$says'" usage_err "$says"
done

expect 0 "$MNIST" summary --arch rnn
check "rnn: LSTM with 24,064 parameters" grep -q "^ lstm (LSTM) .*(None, 64) .*24,064$" out.txt
check "rnn: 26,602 trainable" grep -q "^Trainable params: 26,602$" out.txt
check "rnn: 26,730 in all (BatchNorm's running statistics)" grep -q "^Total params: 26,730$" out.txt
expect 0 "$MNIST" summary --arch vit
check "vit: 71,946 parameters" grep -q "^Total params: 71,946$" out.txt
check "vit: two encoder blocks" grep -q "^ transformer_1 (TransformerEncoder) (None, 1, 16, 64) .*33,472$" out.txt

gen_data "$WORK/data" 2000 500 5
have_torch=0
/usr/bin/python3 -c "import torch" 2>/dev/null && have_torch=1
for arch in "lstm:16:seq,gru:8,dense:10" "patches:7:16,transformer:16:2:32,layernorm,mean,dense:10"; do
  expect 0 "$MNIST" train --arch "$arch" --epochs 2 --batch-size 64 --data data --output m.bin --verbose 0
  acc=$(sed -n 's/^test loss: \(.*\) - test accuracy: \([0-9.]*\)$/\2/p' out.txt)
  loss=$(sed -n 's/^test loss: \([0-9.]*\) - .*/\1/p' out.txt)
  check "$arch learns the synthetic digits ($acc)" awk -v a="$acc" 'BEGIN { exit !(a >= 0.25) }'
  expect 0 "$MNIST" eval m.bin --data data
  check "eval agrees with training ($acc)" grep -qE "^[0-9]+/[0-9]+ - .* - accuracy: $acc$" out.txt
  if [ $have_torch = 1 ]; then
    expect 0 /usr/bin/python3 "$SRC/scripts/torch_eval.py" m.bin data
    check "PyTorch gets loss $loss and accuracy $acc from $arch" grep -q "^pytorch: loss: $loss - accuracy: $acc$" out.txt
  fi
done
[ $have_torch = 1 ] || echo "note: /usr/bin/python3 has no torch; PyTorch parity not checked"
finish seq
