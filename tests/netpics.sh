#!/usr/bin/env bash
# `mnist weights` and `mnist features` on models trained on a synthetic data
# set: PNG sizes and tile counts that follow the layer shapes, terminal
# output (plain characters, 256 and 24-bit half blocks), the SVG bars, the
# errors (exit 2 for usage, 1 for data and files, one line), blank images
# refused by features and predict.
# Usage: netpics.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir
unset NO_COLOR COLUMNS COLORTERM
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

# "W H CHANNELS" of a PNG, from its IHDR
png_size() {
  local ihdr; ihdr=($(od -An -tu1 -j16 -N10 "$1"))
  echo $(( (ihdr[0] << 24) + (ihdr[1] << 16) + (ihdr[2] << 8) + ihdr[3] )) \
       $(( (ihdr[4] << 24) + (ihdr[5] << 16) + (ihdr[6] << 8) + ihdr[7] )) $([ "${ihdr[9]}" = 2 ] && echo 3 || echo 1)
}
# the size of a weights PNG of n tiles of tw x th in cols columns (netpics.c's
# layout: 10 px margins, 52 px of title and colour bar, 6 px between tiles,
# 11 px captions), at least as wide as the title and bar
grid_size() {
  local n=$1 tw=$2 th=$3 cols=$4 min_w=$5 rows w
  rows=$(( (n + cols - 1) / cols ))
  w=$(( 10 + cols * (tw + 6) - 6 + 10 ))
  [ "$w" -lt "$min_w" ] && w=$min_w
  echo "$w $(( 62 + rows * (th + 11 + 6) - 6 + 10 )) 3"
}
title_w() { echo $(( 10 + (6 * ${#1} - 1) * 2 + 10 )); }

gen_data "$WORK/data" 2000 200 5
D=(--data "$WORK/data")
expect 0 "$MNIST" train "${D[@]}" --epochs 1 --output mlp.bin --quiet
expect 0 "$MNIST" train "${D[@]}" --epochs 1 --arch cnn --output cnn.bin --quiet
expect 0 "$MNIST" train "${D[@]}" --epochs 1 --arch "dense:16,sigmoid,dense:10" --output small.bin --quiet

# --- usage: exit 2 -------------------------------------------------------------
expect 0 "$MNIST" weights --help;   check "weights --help" grep -q "^Usage: mnist weights MODEL" out.txt
expect 0 "$MNIST" features --help;  check "features --help" grep -q "^Usage: mnist features MODEL" out.txt
expect 0 "$MNIST" --help;           check "help lists weights and features" bash -c 'grep -q "^  weights " out.txt && grep -q "^  features " out.txt'
expect 2 "$MNIST" weights
expect 2 "$MNIST" weights mlp.bin --bogus
expect 2 "$MNIST" weights mlp.bin --layer
expect 2 "$MNIST" weights mlp.bin --layer 99
check "layer out of range says the range" grep -q "has layers 0 to 4" err.txt
expect 2 "$MNIST" weights mlp.bin --layer 2
check "a layer without weights says so" grep -q "layer 2, relu (ReLU), has no weights (the first with weights is layer 1)" err.txt
expect 2 "$MNIST" weights mlp.bin --layer dense_7
expect 2 "$MNIST" weights mlp.bin --layer -1
expect 2 "$MNIST" weights mlp.bin --cols 0
expect 2 "$MNIST" weights mlp.bin --scale x
expect 2 "$MNIST" weights mlp.bin --png x.png --ascii
expect 2 "$MNIST" weights mlp.bin cnn.bin
expect 2 "$MNIST" features
expect 2 "$MNIST" features mlp.bin
expect 2 "$MNIST" features mlp.bin --index 0 x.png
expect 2 "$MNIST" features mlp.bin --index x
expect 2 "$MNIST" features mlp.bin --index 0 --set val
expect 2 "$MNIST" features mlp.bin --index 200 "${D[@]}"
check "index out of range" grep -q "out of range: the test set.*200 images, 0 to 199" err.txt
expect 2 "$MNIST" features mlp.bin --index 0 --raw

# --- data and files: exit 1, one line --------------------------------------------
expect 1 "$MNIST" weights nowhere.bin;   check "missing model: one line" one_line_err
echo "not a model" >junk.bin
expect 1 "$MNIST" weights junk.bin;      check "junk model: one line" one_line_err
expect 1 "$MNIST" features junk.bin --index 0 "${D[@]}"; check "features, junk model: one line" one_line_err
echo "not an image" >note.png
expect 1 "$MNIST" features mlp.bin note.png
check "not an image: one line naming it" bash -c 'one_line_err() { [ "$(wc -l <err.txt)" -eq 1 ] && grep -q "^mnist: " err.txt; }; one_line_err && grep -q "note.png" err.txt'
expect 1 "$MNIST" features mlp.bin --index 0 --data "$WORK/nowhere"; check "missing data: one line" one_line_err
expect 1 "$MNIST" weights mlp.bin --png "$WORK/no/such/dir/w.png"
check "unwritable png: one line naming it" bash -c 'grep -q "no/such/dir/w.png" err.txt && [ "$(wc -l <err.txt)" -eq 1 ]'
expect 1 "$MNIST" features mlp.bin --index 0 "${D[@]}" --svg "$WORK/no/such/dir/f.svg"
check "unwritable svg: one line naming it" bash -c 'grep -q "no/such/dir/f.svg" err.txt && [ "$(wc -l <err.txt)" -eq 1 ]'

# blank images: no digit, no guess (features and predict)
printf 'P2\n4 4\n255\n%s\n' "$(yes 255 | head -16 | tr '\n' ' ')" >white.pgm
printf 'P2\n4 4\n255\n%s\n' "$(yes 128 | head -16 | tr '\n' ' ')" >grey.pgm
for f in white.pgm grey.pgm; do
  expect 1 "$MNIST" features mlp.bin $f
  check "features $f: no digit found" bash -c "grep -q '^mnist: $f: no digit found' err.txt && [ \"\$(wc -l <err.txt)\" -eq 1 ]"
  expect 1 "$MNIST" predict mlp.bin $f
  check "predict $f: no digit found, no guess" bash -c "grep -q '^mnist: $f: no digit found' err.txt && ! grep -q '%' out.txt"
  expect 1 "$MNIST" predict mlp.bin $f --raw
  check "predict --raw $f: no digit found" grep -q "no digit found" err.txt
done

# --- weights: PNG sizes follow the shapes ------------------------------------------
expect 0 "$MNIST" weights mlp.bin --png w.png
check "mlp: 128 tiles of layer 1" grep -qx "saved w.png: 1.weight, 128 tiles" out.txt
# 128 units: 12 columns, 11 rows of 28x28 at 3 px
check "mlp: PNG size" test "$(png_size w.png)" = "$(grid_size 128 84 84 12 0)"
expect 0 "$MNIST" weights mlp.bin --png w16.png --cols 16 --scale unit
check "--cols 16: PNG size" test "$(png_size w16.png)" = "$(grid_size 128 84 84 16 0)"
expect 0 "$MNIST" weights mlp.bin --png w1.png --layer dense
check "--layer by name" cmp -s w.png w1.png
expect 0 "$MNIST" weights mlp.bin --png m.png --layer 4
check "mlp layer 4: one heat map" grep -qx "saved m.png: 4.weight, 1 tile" out.txt
expect 0 "$MNIST" weights mlp.bin --png m2.png --layer dense_1
check "--layer dense_1 is layer 4" cmp -s m.png m2.png
expect 0 "$MNIST" weights small.bin --png s.png
t="layer 1: dense (Dense), 1.weight (16, 784), units"
check "16 units: 4 x 4" test "$(png_size s.png)" = "$(grid_size 16 84 84 4 "$(title_w "$t")")"
expect 0 "$MNIST" weights cnn.bin --png c1.png
check "cnn: 32 filters of conv 0" grep -qx "saved c1.png: 0.weight, 32 tiles" out.txt
# 32 3x3 filters at 16 px: 6 columns of 48 px
t="layer 0: conv (Conv2D), 0.weight (32, 1, 3, 3), filters"
check "cnn conv: PNG size" test "$(png_size c1.png)" = "$(grid_size 32 48 48 6 "$(title_w "$t")")"
expect 0 "$MNIST" weights cnn.bin --png c2.png --layer 3
check "cnn: 64 filters of conv 3" grep -qx "saved c2.png: 3.weight, 64 tiles" out.txt
# 32 channels a filter: 6 x 6 planes of 3x3 at 5 px, 2 px apart
check "cnn conv_1: PNG size" test "$(png_size c2.png)" = "$(grid_size 64 $((6 * 15 + 10)) $((6 * 15 + 10)) 8 0)"
check "no temp files" bash -c '! ls *.tmp.* >/dev/null 2>&1'

# --- weights in the terminal ----------------------------------------------------------
expect 0 "$MNIST" weights small.bin
check "plain: title, scale line" bash -c 'head -1 out.txt | grep -qx "layer 1: dense (Dense), 1.weight (16, 784), units" && sed -n 2p out.txt | grep -q "^scale: -[0-9.]* %=- 0 +\*# +[0-9.]*$"'
check "plain: no escapes" bash -c '! grep -q $'"'"'\x1b'"'"' out.txt'
# 80 columns: one 56-character tile a row, 16 rows of caption + 28 lines
check "plain: 16 tiles of 28 lines" test "$(grep -c '^[0-9][0-9]*$' out.txt)" = 16 -a "$(wc -l <out.txt)" = $((3 + 16 * 29 + 15))
check "plain: 56 characters wide" bash -c '[ "$(sed "1,3d" out.txt | grep -v "^[0-9]*$" | grep -v "^$" | awk "{ print length }" | sort -u)" = 56 ]'
check "plain: signs" bash -c 'grep -q "[-=%]" out.txt && grep -q "[+*#]" out.txt'
COLUMNS=120 expect 0 "$MNIST" weights small.bin --color
check "256 colours: cube escapes" grep -qE $'\x1b\\[38;5;[0-9]+;48;5;[0-9]+m' out.txt
check "256 colours: 4 tiles a row (4 x 28 + 3 x 2 = 118)" test "$(grep -c '^0  *1  *2  *3$' out.txt)" = 1
COLORTERM=truecolor expect 0 "$MNIST" weights small.bin --color
check "24-bit escapes" grep -qE $'\x1b\\[38;2;[0-9]+;[0-9]+;[0-9]+;48;2;' out.txt
expect 0 "$MNIST" weights small.bin --layer 3 --ascii
check "heat map in the terminal" bash -c 'grep -qx "inputs 0-15 (units down)" out.txt && [ "$(sed -n "/^inputs/,\$p" out.txt | sed 1d | wc -l)" = 10 ]'

# --- features -------------------------------------------------------------------------
expect 0 "$MNIST" features cnn.bin --index 3 "${D[@]}"
check "features: the label line" grep -qx "t10k\[3\], label [0-9]" out.txt
for c in "input (None, 1, 28, 28)" "0: conv (Conv2D) (None, 32, 26, 26)" "1: relu (ReLU) (None, 32, 26, 26)" \
         "2: maxpool (MaxPooling2D) (None, 32, 13, 13)" "3: conv_1 (Conv2D) (None, 64, 11, 11)" \
         "5: maxpool_1 (MaxPooling2D) (None, 64, 5, 5)" "8: dense (Dense) (None, 10)"; do
  check "features caption: $c" grep -qxF "$c" out.txt
done
check "features: flatten and dropout not drawn" bash -c '! grep -q "flatten\|dropout" out.txt'
check "features: 10 probability lines, one predicted" bash -c '[ "$(grep -cE "^  [0-9] +[0-9.]+% " out.txt)" = 10 ] && [ "$(grep -c "<- predicted" out.txt)" = 1 ]'
expect 0 "$MNIST" predict cnn.bin --index 3 "${D[@]}" --top 1
pred=$(sed -n 's/^t10k\[3\]: \([0-9]\) .*/\1/p' out.txt)
expect 0 "$MNIST" features cnn.bin --index 3 "${D[@]}" --png f.png --svg f.svg
check "features agrees with predict ($pred)" grep -q "^predicted $pred (" out.txt
check "features: saved lines" bash -c 'grep -qx "saved f.png" out.txt && grep -qx "saved f.svg" out.txt'
check "features: an RGB PNG" test "$(png_size f.png | cut -d" " -f3)" = 3
check "svg: 10 + 10 bars, the predicted one marked" "$PY" -c '
import xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
r = ET.parse("f.svg").getroot()
bars = [e for e in r.iter(ns + "rect") if (e.get("class") or "").startswith("bar")]
assert len(bars) == 20, len(bars)
g = [e for e in r.iter(ns + "g") if e.get("id") == "probabilities"][0]
marked = [i for i, e in enumerate(x for x in g.iter(ns + "rect") if (x.get("class") or "").startswith("bar")) if "predicted" in e.get("class")]
assert marked == ['"$pred"'], marked'
expect 0 "$MNIST" features mlp.bin --index 3 "${D[@]}" --svg m.svg
check "mlp svg: 128 + 128 + 10 + 10 bars" test "$(grep -c '<rect class="bar' m.svg)" = 276
expect 0 "$MNIST" features mlp.bin --index 0 --set train "${D[@]}"
check "--set train" grep -qx "train\[0\], label [0-9]" out.txt
# a user's image, prepared as predict prepares it
printf 'P2\n28 28\n255\n' >digit.pgm
for y in $(seq 0 27); do for x in $(seq 0 27); do
  if [ $y -ge 6 ] && [ $y -lt 22 ] && [ $x -ge 12 ] && [ $x -lt 15 ]; then printf '0 '; else printf '255 '; fi
done; echo; done >>digit.pgm
expect 0 "$MNIST" features mlp.bin digit.pgm --png d.png
check "features of a file" grep -q "^predicted [0-9]" out.txt
check "no temp files left" bash -c '! ls *.tmp.* >/dev/null 2>&1'

finish netpics
