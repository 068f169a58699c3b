#!/usr/bin/env bash
# End-to-end tests of the data sources (dataset.h): npz and CSV written by
# `mnist convert` from a synthetic IDX set train the same model byte for
# byte; EMNIST-, QMNIST- and torchvision-style sets train, eval (a 47-class
# confusion matrix in 80 columns, class names) and predict; Kaggle
# submissions; and bad files, each a one-line error naming the file (for
# CSV the line and column), exit 1 and nothing written.
# Usage: data_formats.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir
mkdir idx && gen_data idx 600 200 5
T="--epochs 1 --seed 3 --verbose 0 --threads 1"

# ---- the same model from IDX, npz and both CSV styles ----
expect 0 "$MNIST" convert idx d.npz
expect 0 "$MNIST" convert idx k_train.csv
expect 0 "$MNIST" convert idx --no-header p_train.csv
check "csv header" grep -q '^label,pixel0,pixel1,' k_train.csv
check "csv no header" test "$(head -c 2 p_train.csv | tr -d '0-9,')" = ""
check "test csv beside" test -s k_test.csv -a -s p_test.csv
expect 0 "$MNIST" train $T --data idx --output m_idx.bin
grep "test accuracy" out.txt >acc_idx.txt
for src in d.npz k_train.csv p_train.csv; do
  expect 0 "$MNIST" train $T --data "$src" --output "m_$src.bin"
  check "$src: same test figures" cmp -s acc_idx.txt <(grep "test accuracy" out.txt)
  check "$src: same model bytes" cmp -s m_idx.bin "m_$src.bin"
done
# and back: npz -> IDX folder -> same bytes as the original files
expect 0 "$MNIST" convert d.npz back
check "npz->idx round trip" cmp -s idx/train-images-idx3-ubyte back/train-images-idx3-ubyte
check "labels round trip" cmp -s idx/t10k-labels-idx1-ubyte back/t10k-labels-idx1-ubyte

# ---- no --data, no data/mnist: ~/.keras/datasets/mnist.npz, said on the first line ----
mkdir -p home/.keras/datasets && cp d.npz home/.keras/datasets/mnist.npz
expect 0 env HOME="$WORK/home" "$MNIST" eval m_idx.bin
check "keras fallback named first" grep -q "^using $WORK/home/.keras/datasets/mnist.npz" <(head -1 out.txt)
check "keras fallback same figures" grep -q "$(sed 's/.*test accuracy: //' acc_idx.txt)" out.txt
expect 0 env HOME="$WORK/home" "$MNIST" eval m_idx.bin --json
check "json stays json" grep -q '^{"model"' out.txt

# ---- Kaggle: unlabelled test.csv, submission ----
mkdir kg && cp k_train.csv kg/train.csv
cut -d, -f2- k_test.csv >kg/test.csv   # no label column, as Kaggle's
expect 0 "$MNIST" train $T --data kg/train.csv --output kg.bin
check "no test figures, says why" grep -q "^no test figures: .*test.csv has no label column.*--validation-split" out.txt
check "no test accuracy line" bash -c '! grep -q "test accuracy" out.txt'
expect 0 "$MNIST" predict kg.bin --csv kg/test.csv --submission sub.csv
check "submission header" test "$(head -1 sub.csv)" = "ImageId,Label"
check "submission rows" test "$(wc -l <sub.csv)" -eq 201
check "submission 1-based" test "$(sed -n 2p sub.csv | cut -d, -f1)" = 1
expect 0 "$MNIST" predict kg.bin --csv kg/test.csv --submission -
check "submission to stdout" cmp -s out.txt sub.csv
# predictions agree with the labels the file had (the synthetic set is easy)
right=$(paste -d, <(tail -n +2 sub.csv | cut -d, -f2) <(tail -n +2 k_test.csv | cut -d, -f1) | awk -F, '$1 == $2' | wc -l)
check "submission mostly right ($right/200)" test "$right" -ge 150

# ---- EMNIST-style (47 classes, transposed, mapping), QMNIST, torchvision ----
mkdir em qm tv tv/MNIST tv/MNIST/raw
gen_data em 2000 300 7 emnist
gen_data qm 600 200 7 qmnist
gen_data tv/MNIST/raw 600 200 5
A47="dense:64,relu,dense:47"
expect 0 "$MNIST" train $T --epochs 3 --arch "$A47" --data em --output em.bin
acc=$(sed -n 's/^test loss: .* - test accuracy: \([0-9.]*\)$/\1/p' out.txt)
check "emnist learns ($acc)" awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'
# without the transposition the blocks are elsewhere: a worse model
expect 0 "$MNIST" train $T --epochs 3 --arch "$A47" --data em --transpose --output em_t.bin
expect 0 "$MNIST" eval em.bin --data em
check "47-class matrix fits 80 columns" test "$(awk '{ if (length($0) > m) m = length($0) } END { print m }' out.txt)" -le 80
check "class names as headers" grep -qE '^ +0 +1 +2 .* A +B +C' out.txt
check "lower-case rows" grep -qE '^ t( +[0-9]+)+$' out.txt
check "precision rows named" grep -qE '^ +t +[01]\.[0-9]{4}' out.txt
expect 0 "$MNIST" eval em.bin --data em --json
check "json names" grep -q '"name": "A"' out.txt
expect 0 "$MNIST" predict em.bin --data em --index 0 --index 1
check "predict prints names" grep -qE '^t10k\[0\]: [0-9A-Za-z] \([0-9.]+%\).*\(label [0-9A-Za-z]\)$' out.txt
expect 0 "$MNIST" show --data em --ascii 0
check "show names" grep -qE '^#0 label [0-9A-Za-z]' out.txt
expect 1 "$MNIST" eval em.bin --data idx
check "eval refuses other class counts" grep -q "47 classes; idx has 28x28 and 10" err.txt
check "  in one line" one_line_err
expect 0 "$MNIST" train $T --data qm --output qm.bin
check "qmnist test set" grep -q "test accuracy" out.txt
expect 0 "$MNIST" eval qm.bin --data qm
check "qmnist eval: 200 test images" grep -q "^7/7 " out.txt
expect 0 "$MNIST" train $T --data tv --output tv.bin
check "torchvision MNIST/raw" cmp -s tv.bin m_idx.bin

# ---- bad files: one line naming the file, exit 1, nothing written ----
bad_file() { # NAME WANT CMD...: the error must name the file and say WANT
  local name=$1 want=$2; shift 2
  rm -f out.bin
  expect 1 "$@"
  check "$name: one line" one_line_err
  check "$name: says '$want'" grep -q -- "$want" err.txt
  check "$name: nothing written" test ! -e out.bin
}
tr_bad() { bad_file "$1" "$2" "$MNIST" train $T --data "$3" --output out.bin; }
head -c 5000 d.npz >trunc.npz; tr_bad "truncated npz" "trunc.npz: truncated" trunc.npz
printf 'hello world' >nozip.npz; tr_bad "not a zip" "nozip.npz: not a zip archive" nozip.npz
: >empty.npz; tr_bad "empty npz" "empty.npz: empty file" empty.npz
python_free_crc() { # flips a byte inside the first entry's data (stored)
  cp d.npz crc.npz; printf '\x55' | dd of=crc.npz bs=1 seek=200 conv=notrunc 2>/dev/null; }
python_free_crc; tr_bad "zip CRC" "crc.npz: x_train.npy: zip CRC-32 mismatch" crc.npz
: >empty.csv; tr_bad "empty csv" "empty.csv: empty file" empty.csv
awk 'NR == 3 { sub(/,[0-9]+$/, "") } 1' k_train.csv >ragged_train.csv
tr_bad "ragged row" "ragged_train.csv: line 3: 784 columns, line 1 has 785" ragged_train.csv
awk -F, -v OFS=, 'NR == 4 { $10 = 256 } 1' k_train.csv >p256_train.csv
tr_bad "pixel 256" "p256_train.csv: line 4, column 10: pixel 256 is out of range" p256_train.csv
awk -F, -v OFS=, 'NR == 5 { $3 = -1 } 1' k_train.csv >neg_train.csv
tr_bad "pixel -1" "neg_train.csv: line 5, column 3: pixel -1 is out of range" neg_train.csv
awk -F, -v OFS=, 'NR == 6 { $1 = "x" } 1' k_train.csv >lab_train.csv
tr_bad "non-integer label" "lab_train.csv: line 6, column 1: label is not an integer" lab_train.csv
awk -F, -v OFS=, 'NR == 6 { $1 = "2.5" } 1' k_train.csv >lab2_train.csv
tr_bad "fractional label" "lab2_train.csv: line 6, column 1: label is not an integer" lab2_train.csv
head -c 4000000 /dev/zero | tr '\0' ',' >wide_train.csv   # 4 million columns in the "header"
tr_bad "huge header" "wide_train.csv: line 1: more than 1048577 columns" wide_train.csv
awk 'BEGIN { printf "label"; for (i = 0; i < 10; i++) printf ",p%d", i; print ""; print "1,2,3,4,5,6,7,8,9,10,11" }' >nsq_train.csv
tr_bad "not square" "nsq_train.csv: line 1: 10 pixel columns besides the label is not a square image" nsq_train.csv
expect 1 "$MNIST" predict kg.bin --csv p256_train.csv --submission out.csv
check "submission: bad csv, nothing written" test ! -e out.csv
check "submission: one line" one_line_err

# a missing key (dtype and order errors: tests/test_npz.c, which can fix the CRC)
"$MNIST" convert idx s.npz >/dev/null
sed 's/y_test/y_tost/g' s.npz >key.npz
bad_file "missing key" "key.npz: no array 'y_test'" "$MNIST" eval m_idx.bin --data key.npz

finish data_formats
