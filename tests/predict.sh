#!/usr/bin/env bash
# End-to-end tests of `mnist predict`: trains a tiny model on synthetic data
# (each class a bright block at its own place), writes PGM images of its own,
# and checks the output format, --raw, --show, --top, --index and the errors.
# Usage: predict.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir

# pgm FILE SCALE CLASS BG INK : a plain PGM (P2) of (28*SCALE)^2 pixels with the
# synthetic set's block for CLASS (6 rows x 4 columns at its place) in INK on BG.
pgm() {
  awk -v s="$2" -v c="$3" -v bg="$4" -v ink="$5" 'BEGIN {
    n = 28 * s; y0 = 3 + int(c / 5) * 12; x0 = 1 + (c % 5) * 5
    printf "P2\n# class %d\n%d %d\n255\n", c, n, n
    for (y = 0; y < n; y++) {
      line = ""
      for (x = 0; x < n; x++) {
        yy = int(y / s); xx = int(x / s)
        v = (yy >= y0 && yy < y0 + 6 && xx >= x0 && xx < x0 + 4) ? ink : bg
        line = line (x ? " " : "") v
      }
      print line
    }
  }' >"$1"
}
# the regular expression of one prediction line with K classes
line_re() {
  local k=$2 re="^$1: [0-9] \([0-9]+\.[0-9]%\)" i
  for ((i = 1; i < k; i++)); do re="$re  [0-9] \([0-9]+\.[0-9]%\)"; done
  echo "$re"
}

gen_data "$WORK/data" 3000 500 11
expect 0 "$MNIST" train --epochs 2 --data "$WORK/data" --output m.bin --seed 3 --quiet
[ -s m.bin ] || { echo "FAIL: no model" >&2; exit 1; }

# --- usage ------------------------------------------------------------------
expect 0 "$MNIST" predict --help;  check "help" grep -q "^Usage: mnist predict MODEL IMAGE" out.txt
expect 2 "$MNIST" predict
expect 2 "$MNIST" predict m.bin
expect 2 "$MNIST" predict m.bin x.pgm --bogus
expect 2 "$MNIST" predict m.bin x.pgm --top 0
expect 2 "$MNIST" predict m.bin x.pgm --top
expect 2 "$MNIST" predict m.bin --index abc
expect 2 "$MNIST" predict m.bin --index -1
expect 2 "$MNIST" predict m.bin --index 500 --data "$WORK/data"
check "index out of range says so" grep -q "out of range.*500 test images" err.txt

# --- images: --raw keeps the block where the model learnt it ---------------
pgm c3.pgm 1 3 25 230
pgm c7.pgm 1 7 25 230
pgm c9big.pgm 3 9 25 230           # 84x84: resized to 28x28 by area averaging
expect 0 "$MNIST" predict m.bin c3.pgm c7.pgm c9big.pgm --raw
check "three lines" test "$(wc -l <out.txt)" -eq 3
check "format" grep -qE "$(line_re c3.pgm 3)$" out.txt
check "c3 is 3" grep -qE '^c3.pgm: 3 ' out.txt
check "c7 is 7" grep -qE '^c7.pgm: 7 ' out.txt
check "c9big is 9" grep -qE '^c9big.pgm: 9 ' out.txt
# probs LINE_NO: the percentages of that line of out.txt, one per line
probs() { sed -n "$1p" out.txt | grep -oE '\([0-9.]+%\)' | tr -d '()%'; }
sorted_le_100() { probs "$1" | awk '{ if (NR > 1 && $1 > prev) exit 1; prev = $1; s += $1 } END { exit !(NR == 3 && s <= 100.2) }'; }
check "probabilities sorted, at most 100%" bash -c "$(declare -f probs sorted_le_100); sorted_le_100 1 && sorted_le_100 2 && sorted_le_100 3"
check "nothing on stderr" test ! -s err.txt

# --top
expect 0 "$MNIST" predict m.bin c3.pgm --raw --top 5
check "top 5" grep -qE "$(line_re c3.pgm 5)$" out.txt
expect 0 "$MNIST" predict m.bin c3.pgm --raw --top=1
check "top 1" grep -qE "$(line_re c3.pgm 1)$" out.txt
expect 0 "$MNIST" predict m.bin c3.pgm --raw --top 50
check "top clamps to the classes" grep -qE "$(line_re c3.pgm 10)$" out.txt
check "top 10 sums to ~100%" bash -c "$(declare -f probs); probs 1 | awk '{ s += \$1 } END { exit !(NR == 10 && s > 99.4 && s < 100.6) }'"

# preprocessing (default): a dark block on light paper is inverted, cropped and
# centred; the prediction line has the same format.
pgm paper.pgm 2 0 240 20
expect 0 "$MNIST" predict m.bin paper.pgm
check "preprocessed format" grep -qE "$(line_re paper.pgm 3)$" out.txt

# --show: a 30-line frame, then the prediction
expect 0 "$MNIST" predict m.bin paper.pgm --show
check "show: 31 lines" test "$(wc -l <out.txt)" -eq 31
check "show: frame" bash -c 'head -1 out.txt | grep -qE "^\+-{56}\+$" && sed -n 30p out.txt | grep -qE "^\+-{56}\+$"'
check "show: 28 rows of 56" test "$(sed -n '2,29p' out.txt | grep -cE '^\|.{56}\|$')" -eq 28
check "show: ink in the middle" bash -c 'sed -n "10,20p" out.txt | grep -q "@@"'
check "show: dark border (inverted)" bash -c 'sed -n 2p out.txt | grep -qE "^\| {56}\|$"'
check "show: then the prediction" grep -qE "$(line_re paper.pgm 3)$" <(tail -1 out.txt)
# the preprocessed block: 6x4 scaled to 20x13, centred => rows 4..23 lit
rows=$(sed -n '2,29p' out.txt | grep -c '@')
check "show: digit 20 rows high ($rows)" test "$rows" -ge 19 -a "$rows" -le 20
expect 0 "$MNIST" predict m.bin paper.pgm --show --raw
check "raw show keeps the light paper" bash -c 'sed -n 2p out.txt | grep -qE "^\|@{56}\|$"'

# --- --index: test-set images, with their labels -----------------------------
expect 0 "$MNIST" predict m.bin --index 0 --index 7 --index 499 --data "$WORK/data"
check "index lines" test "$(grep -cE "^t10k\[(0|7|499)\]: [0-9] \([0-9.]+%\)  [0-9] \([0-9.]+%\)  [0-9] \([0-9.]+%\)  \(label [0-9]\)$" out.txt)" -eq 3
check "index predictions match labels" awk '{ if ($2 != substr($NF, 1, 1)) exit 1 }' out.txt
MNIST_DATA="$WORK/data" expect 0 "$MNIST" predict m.bin c3.pgm --index 3 --raw
check "images and indexes mixed, in order" bash -c 'head -1 out.txt | grep -q "^c3.pgm: " && tail -1 out.txt | grep -q "^t10k\[3\]: "'
expect 1 "$MNIST" predict m.bin --index 0 --data "$WORK/nowhere"
check "index without data: one line" one_line_err
check "index without data: names the file" grep -q "nowhere/t10k-images" err.txt

# --- errors: one line naming the file, exit 1 ----------------------------------
expect 1 "$MNIST" predict m.bin missing.png
check "missing: one line" one_line_err
check "missing: names it" grep -q "missing.png" err.txt
head -c 3000 /dev/urandom | tr -d 'P\211' >garbage.png
expect 1 "$MNIST" predict m.bin garbage.png
check "garbage: one line" one_line_err
check "garbage: says so" grep -q "^mnist: garbage.png: not a PNG or PGM image$" err.txt
head -c 200 c3.pgm >cut.pgm
expect 1 "$MNIST" predict m.bin cut.pgm
check "truncated pgm: says so" grep -q "^mnist: cut.pgm: truncated" err.txt
printf '\211PNG\r\n\032\n\0\0\0\rIHDR' >cut.png
expect 1 "$MNIST" predict m.bin cut.png
check "truncated png: one line" one_line_err
check "truncated png: names it" grep -q "cut.png: truncated" err.txt
# a bad image among good ones: the good ones are still predicted
expect 1 "$MNIST" predict m.bin c3.pgm garbage.png c7.pgm --raw
check "good ones predicted" test "$(grep -c '^c[37].pgm: ' out.txt)" -eq 2
check "bad one reported" one_line_err
# models
expect 1 "$MNIST" predict missing.bin c3.pgm
check "missing model: names it" grep -q "missing.bin" err.txt
expect 1 "$MNIST" predict c3.pgm c3.pgm
check "not a model: one line" one_line_err

finish predict
