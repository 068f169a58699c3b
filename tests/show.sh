#!/usr/bin/env bash
# The picture outputs on a synthetic data set: `mnist show` (ASCII art,
# 256-colour half blocks, --png), `mnist eval --errors` (a PNG grid of the
# mistakes) and `mnist train --plot` (SVG curves).
# Usage: show.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir
unset NO_COLOR COLUMNS
lines() { [ "$(wc -l <"$1")" -eq "$2" ] || { echo "  $1 has $(wc -l <"$1") lines, wanted $2" >&2; return 1; }; }

gen_data "$WORK/data" 3000 500 11
D=(--data "$WORK/data")
label() { od -An -tu1 -j$((8 + $2)) -N1 "$WORK/data/$1-labels-idx1-ubyte" | tr -d ' '; }
l0=$(label t10k 0) l1=$(label t10k 1) l2=$(label t10k 2) l499=$(label t10k 499) t2999=$(label train 2999)

# Checks a PNG completely with python3 (chunk CRCs, IHDR, the zlib stream,
# the scanline filters) and prints "WIDTH HEIGHT CHANNELS"; without python3,
# the signature and the IHDR fields only.
png_info() {
  if command -v python3 >/dev/null; then
    python3 - "$1" <<'EOF'
import struct, sys, zlib
d = open(sys.argv[1], "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "signature"
at, chunks = 8, []
while at < len(d):
    n, = struct.unpack(">I", d[at:at + 4]); t = d[at + 4:at + 8]; body = d[at + 8:at + 8 + n]
    crc, = struct.unpack(">I", d[at + 8 + n:at + 12 + n])
    assert crc == zlib.crc32(t + body), "CRC of %r" % t
    chunks.append((t, body)); at += 12 + n
assert [c[0] for c in chunks] == [b"IHDR", b"IDAT", b"IEND"], [c[0] for c in chunks]
w, h, depth, ctype, comp, filt, lace = struct.unpack(">IIBBBBB", chunks[0][1])
assert depth == 8 and ctype in (0, 2) and comp == filt == lace == 0
ch = 3 if ctype == 2 else 1
raw = zlib.decompress(chunks[1][1])
assert len(raw) == h * (1 + w * ch), "scanline bytes"
assert all(raw[y * (1 + w * ch)] <= 4 for y in range(h)), "filter types"
print(w, h, ch)
EOF
  else
    [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || return 1
    local ihdr; ihdr=($(od -An -tu1 -j16 -N10 "$1"))
    echo $(( (ihdr[0] << 24) + (ihdr[1] << 16) + (ihdr[2] << 8) + ihdr[3] )) \
         $(( (ihdr[4] << 24) + (ihdr[5] << 16) + (ihdr[6] << 8) + ihdr[7] )) $([ "${ihdr[9]}" = 2 ] && echo 3 || echo 1)
  fi
}

# --- usage errors: exit 2 -------------------------------------------------------
expect 0 "$MNIST" show --help;      check "show --help" grep -q "Usage: mnist show" out.txt
expect 0 "$MNIST" --help;           check "help lists show" grep -q "^  show " out.txt
expect 2 "$MNIST" show "${D[@]}"
expect 2 "$MNIST" show "${D[@]}" abc
expect 2 "$MNIST" show "${D[@]}" 1.5
expect 2 "$MNIST" show "${D[@]}" -- 3
expect 2 "$MNIST" show "${D[@]}" -1
check "negative index names INDEX" grep -q "INDEX must be" err.txt
expect 2 "$MNIST" show "${D[@]}" --set validation 0
expect 2 "$MNIST" show "${D[@]}" --ascii --color 0
expect 2 "$MNIST" show "${D[@]}" --png x.png --ascii 0
expect 2 "$MNIST" show "${D[@]}" --bogus 0
expect 2 "$MNIST" show "${D[@]}" --png

# --- data errors: one line, exit 1, nothing on stdout ------------------------
expect 1 "$MNIST" show "${D[@]}" 500
check "index out of range: one line" one_line_err
check "index out of range: says so" grep -q "index 500 is out of range.*500 images, 0 to 499" err.txt
check "index out of range: nothing shown" test ! -s out.txt
expect 1 "$MNIST" show "${D[@]}" 0 1 99999
check "any bad index: nothing shown" test ! -s out.txt
expect 1 "$MNIST" show "${D[@]}" --set train 3000
check "train set range" grep -q "index 3000 is out of range: the train set" err.txt
expect 1 "$MNIST" show --data "$WORK/nowhere" 0
check "missing data: one line naming the file" bash -c 'grep -q "nowhere/t10k-images" err.txt && [ "$(wc -l <err.txt)" -eq 1 ]'
expect 1 "$MNIST" show "${D[@]}" --png "$WORK/no/such/dir/x.png" 0
check "unwritable png: one line naming it" bash -c 'grep -q "no/such/dir/x.png" err.txt && [ "$(wc -l <err.txt)" -eq 1 ]'

# --- ASCII art: not a terminal (stdout is a file here), --ascii, NO_COLOR ------
expect 0 "$MNIST" show "${D[@]}" 0 1 2
cp out.txt plain.txt
# 80 columns fit one 56-wide image a row: caption + 28 rows each, blank lines between
check "ascii: 3 x 29 lines + 2 blank" lines plain.txt 89
check "ascii: caption of #0" grep -qx "#0 label $l0" plain.txt
check "ascii: caption of #2" grep -qx "#2 label $l2" plain.txt
check "ascii: only ramp characters" bash -c '! grep -v "^#" plain.txt | grep -q "[^ .:=+*#%@-]"'
check "ascii: 56 columns a row" bash -c '[ "$(grep -v "^#" plain.txt | grep -v "^$" | awk "{ print length }" | sort -u)" = 56 ]'
check "ascii: ink where the synthetic block is" grep -q "@@" plain.txt
check "no escape codes" bash -c '! grep -q $'"'"'\x1b'"'"' plain.txt'
expect 0 "$MNIST" show "${D[@]}" --ascii 0 1 2
check "--ascii: same as non-tty" cmp -s out.txt plain.txt
NO_COLOR=1 expect 0 "$MNIST" show "${D[@]}" 0 1 2
check "NO_COLOR: same" cmp -s out.txt plain.txt
# wider terminals put images side by side: 3 fit in 180 columns
COLUMNS=180 expect 0 "$MNIST" show "${D[@]}" 0 1 2
check "side by side: 29 lines" lines out.txt 29
check "side by side: captions on one line" grep -qE "^#0 label $l0 +#1 label $l1 +#2 label $l2\$" out.txt
check "side by side: rows of 3 x 56 + 2 x 2" bash -c '[ "$(sed 1d out.txt | awk "{ print length }" | sort -u)" = 172 ]'
expect 0 "$MNIST" show "${D[@]}" --set train 2999
check "train set: caption" grep -qx "#2999 label $t2999" out.txt
expect 0 "$MNIST" show "${D[@]}" 499 499
check "last index, twice" bash -c "[ \"\$(grep -cx '#499 label $l499' out.txt)\" = 2 ]"

# --- half blocks with 256-colour greys (forced: stdout is not a terminal) ---------
COLUMNS=40 expect 0 "$MNIST" show "${D[@]}" --color 0 1
cp out.txt color.txt
check "blocks: 2 x (caption + 14 rows) + 1 blank" lines color.txt 31
check "blocks: caption" grep -qx "#1 label $l1" color.txt
check "blocks: 256-colour grey escapes" grep -qE $'\x1b\\[38;5;(1[6]|2[3-5][0-9]);48;5;(1[6]|2[3-5][0-9])m' color.txt
check "blocks: 28 half blocks a row, reset at the end" bash -c \
  '[ "$(grep -v "^#" "$0" | grep -v "^$" | sed "s/\x1b\[[0-9;]*m//g; s/▀/X/g" | awk "{ print length }" | sort -u)" = 28 ] &&
   [ "$(grep -c $'"'"'\x1b\[0m$'"'"' "$0")" = 28 ]' color.txt
check "blocks: upper half block characters" bash -c '[ "$(grep -o "▀" "$0" | wc -l)" = $((2 * 14 * 28)) ]' color.txt
NO_COLOR=1 COLUMNS=40 expect 0 "$MNIST" show "${D[@]}" --color 0 1
check "--color beats NO_COLOR" cmp -s out.txt color.txt
# 80 columns (the default without a terminal) fit two 28-wide images a row
expect 0 "$MNIST" show "${D[@]}" --color 0 1
check "blocks side by side: caption + 14 rows" lines out.txt 15
check "blocks side by side: 2 x 28 half blocks a row" bash -c '[ "$(sed 1d out.txt | sed "s/\x1b\[[0-9;]*m//g; s/▀/X/g" | awk "{ print length }" | sort -u)" = 58 ]'

# --- show --png -----------------------------------------------------------------
expect 0 "$MNIST" show "${D[@]}" --png one.png 7
check "png: says saved" grep -qx "saved one.png" out.txt
# each image is 4x (112 px) in a 120 px column and a 159 px row, after an 8 px margin
check "png: one image" test "$(png_info one.png)" = "128 167 1"
expect 0 "$MNIST" show "${D[@]}" --png many.png $(seq 0 11)
check "png: 12 images, 10 a row" test "$(png_info many.png)" = "1208 326 1"
check "png: no temp file left" bash -c '! ls *.tmp.* >/dev/null 2>&1'

# --- eval --errors ----------------------------------------------------------------
errors_of() { # the number of mistakes in a --json result
  sed 's/.*"confusion": \[\[//; s/\]\], "per_class".*//; s/\], \[/\n/g' "$1" |
    awk -F', ' '{ for (j = 1; j <= NF; j++) if (j != NR) s += $j } END { print s + 0 }'
}
grid() { # expected "W H 3" of a grid of n tiles: 90 x 108 px, 20 a row, 6 px margin
  local n=$1 cols rows
  if [ "$n" -eq 0 ]; then cols=1 rows=1; else cols=$((n < 20 ? n : 20)) rows=$(((n + 19) / 20)); fi
  echo "$((6 + 90 * cols)) $((6 + 108 * rows)) 3"
}
# a barely trained model makes plenty of mistakes, a trained one none
expect 0 "$MNIST" train "${D[@]}" --epochs 1 --optimizer sgd --lr 1e-6 --output weak.bin --quiet
expect 0 "$MNIST" eval weak.bin "${D[@]}" --json
nerr=$(errors_of out.txt)
check "weak model errs ($nerr)" test "$nerr" -gt 60
expect 0 "$MNIST" eval weak.bin "${D[@]}" --errors all.png --errors-max 10000
check "errors: saved line" grep -qx "saved all.png: $nerr of $nerr misclassified images" out.txt
check "errors: one tile per mistake" test "$(png_info all.png)" = "$(grid "$nerr")"
expect 0 "$MNIST" eval weak.bin "${D[@]}" --errors some.png --errors-max 7
check "errors: at most --errors-max tiles" test "$(png_info some.png)" = "$(grid 7)"
expect 0 "$MNIST" eval weak.bin "${D[@]}" --errors cap.png
check "errors: 400 tiles by default" test "$(png_info cap.png)" = "$(grid $((nerr < 400 ? nerr : 400)))"
expect 0 "$MNIST" eval weak.bin "${D[@]}" --json --errors j.png
check "errors with --json: stdout stays JSON" bash -c '[ "$(wc -l <out.txt)" = 1 ] && grep -q "^{.*}$" out.txt'
check "errors with --json: PNG written" test -s j.png
expect 2 "$MNIST" eval weak.bin "${D[@]}" --errors-max 0 --errors x.png
expect 2 "$MNIST" eval weak.bin "${D[@]}" --errors
expect 1 "$MNIST" eval weak.bin "${D[@]}" --errors "$WORK/no/such/dir/e.png"
check "errors: unwritable, one line naming it" bash -c 'grep -q "no/such/dir/e.png" err.txt && [ "$(wc -l <err.txt)" -eq 1 ]'

# --- train --plot ---------------------------------------------------------------
expect 0 "$MNIST" train "${D[@]}" --epochs 3 --validation-split 0.1 --plot curves.svg --output good.bin --quiet
check "svg written" grep -q "<svg xmlns=\"http://www.w3.org/2000/svg\"" curves.svg
check "svg: closed" bash -c '[ "$(tail -n1 curves.svg)" = "</svg>" ]'
check "svg: four curves" bash -c '[ "$(grep -c "<polyline" curves.svg)" = 4 ]'
for c in loss-train loss-val acc-train acc-val; do
  check "svg: one $c point per epoch" bash -c "[ \"\$(grep -o 'class=\"$c\"' curves.svg | wc -l)\" = 3 ]"
done
check "svg: legend" grep -q ">validation</text>" curves.svg
check "svg: axis label" grep -q ">epoch</text>" curves.svg
if command -v python3 >/dev/null; then
  check "svg: well-formed XML with 3 points a polyline" python3 -c '
import sys, xml.etree.ElementTree as ET
root = ET.parse("curves.svg").getroot()
pl = root.findall(".//{http://www.w3.org/2000/svg}polyline")
assert len(pl) == 4 and all(len(p.get("points").split()) == 3 for p in pl)'
fi
expect 0 "$MNIST" train "${D[@]}" --epochs 2 --plot plain.svg --output p.bin --quiet
check "svg without validation: two curves" bash -c '[ "$(grep -c "<polyline" plain.svg)" = 2 ] && ! grep -q validation plain.svg'
# a perfect model: an errors image that says so
expect 0 "$MNIST" eval good.bin "${D[@]}" --json
n0=$(errors_of out.txt)
expect 0 "$MNIST" eval good.bin "${D[@]}" --errors none.png
check "errors: $n0 mistakes of a trained model" test "$(png_info none.png)" = "$(grid "$n0")"
# an unwritable plot fails at once: no training, no model
expect 1 "$MNIST" train "${D[@]}" --epochs 1 --plot "$WORK/no/such/dir/c.svg" --output never.bin --quiet
check "bad plot path: one line naming it" bash -c 'grep -q "no/such/dir/c.svg" err.txt && [ "$(wc -l <err.txt)" -eq 1 ]'
check "bad plot path: no model" test ! -e never.bin
check "no temp files left" bash -c '! ls *.tmp.* >/dev/null 2>&1'

finish show
