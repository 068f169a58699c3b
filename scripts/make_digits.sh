#!/usr/bin/env bash
# make_digits.sh [OUTDIR [DATA_DIR]] - the images of the `mnist predict` figure.
#
# Writes into OUTDIR (default: digits/ in the current directory):
#   - 20 "hand-drawn-style" digits, 200x200, black on white, as PNG and PGM:
#     0-9 in a thick marker style (DejaVu Sans, stroke 9) and 0-9 in a thin
#     italic pen style (Liberation Serif Italic, stroke 2), each a little
#     rotated and off-centre, named <digit>_marker.{png,pgm} and
#     <digit>_pen.{png,pgm}. The PNGs are of several kinds on purpose
#     (greyscale, palette, RGB, RGBA with a transparent background), so that
#     the decoder's paths are used;
#   - 5 images of the MNIST test set (DATA_DIR/t10k-*, default data/mnist
#     under the repository), 28x28 PGM, named t10k_<index>_<label>.pgm.
# The label of each file is the first character of its name (or the part
# after the last '_' for the test-set ones). Then, for example:
#   for f in OUTDIR/*_*.png; do mnist predict model.bin "$f"; done
#
# Needs ImageMagick (convert) and the DejaVu and Liberation fonts
# (apt-get install imagemagick fonts-dejavu-core fonts-liberation).
set -eu -o pipefail

OUT=${1:-digits}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${2:-$ROOT/data/mnist}
command -v convert >/dev/null || { echo "make_digits: needs ImageMagick's convert" >&2; exit 1; }

font() {
    # font FILE-NAME: the first installed font file of that name
    local f
    f=$(fc-list : file 2>/dev/null | sed 's/: *$//' | grep "/$1\$" | head -1) || true
    [ -n "$f" ] || { echo "make_digits: font $1 not found (fc-list)" >&2; exit 1; }
    echo "$f"
}
MARKER=$(font DejaVuSans.ttf)
PEN=$(font LiberationSerif-Italic.ttf)
mkdir -p "$OUT"

# Per digit: rotation (degrees) and offset from the centre (pixels), fixed so
# the images are the same on every run.
ROT=(-6 4 -3 7 -8 2 5 -4 3 -7)
DX=(-20 15 8 -12 25 -6 -18 10 -25 14)
DY=(10 -14 18 -8 -5 20 -16 -22 12 6)
# PNG kinds, cycled: 8-bit grey, palette, RGB, grey+alpha on a transparent ground.
KINDS=(gray palette rgb alpha)

draw() { # draw DIGIT STYLE FONT POINTSIZE STROKEWIDTH INDEX
    local d=$1 style=$2 font=$3 size=$4 sw=$5 i=$6
    local base="$OUT/${d}_${style}" kind=${KINDS[$((i % 4))]}
    local ox=${DX[$d]} oy=${DY[$d]} geom
    geom=$(printf '%+d%+d' "$ox" "$oy")
    convert -size 200x200 xc:white -font "$font" -pointsize "$size" -fill black -stroke black \
        -strokewidth "$sw" -gravity center -annotate "${ROT[$d]}x${ROT[$d]}$geom" "$d" \
        -colorspace Gray "$base.tmp.png"
    convert "$base.tmp.png" -depth 8 "pgm:$base.pgm"
    case $kind in
    gray) convert "$base.tmp.png" -depth 8 -define png:color-type=0 "$base.png" ;;
    palette) convert "$base.tmp.png" -colors 16 "PNG8:$base.png" ;;
    rgb) convert "$base.tmp.png" -colorspace sRGB -type TrueColor "PNG24:$base.png" ;;
    alpha) convert "$base.tmp.png" -alpha copy -channel A -negate +channel -fill black -colorize 100 \
        -define png:color-type=4 "$base.png" ;;
    esac
    rm -f "$base.tmp.png"
}

i=0
for d in 0 1 2 3 4 5 6 7 8 9; do
    draw "$d" marker "$MARKER" 130 9 "$i"
    i=$((i + 1))
done
for d in 0 1 2 3 4 5 6 7 8 9; do
    draw "$d" pen "$PEN" 150 2 "$i"
    i=$((i + 1))
done

# Five test-set images: IDX is a 16-byte header then 784 bytes per image
# (labels: 8 bytes, then one byte each), so a P5 PGM is a header and a slice.
IMAGES=$DATA/t10k-images-idx3-ubyte LABELS=$DATA/t10k-labels-idx1-ubyte
if [ -r "$IMAGES" ] && [ -r "$LABELS" ]; then
    for idx in 0 1 2 3 4; do
        # head | tail, because in tail | head an early exit of head kills tail (SIGPIPE: fails under pipefail)
        label=$(head -c $((8 + idx + 1)) "$LABELS" | tail -c 1 | od -An -tu1 | tr -d ' ')
        f="$OUT/t10k_${idx}_${label}.pgm"
        { printf 'P5\n28 28\n255\n'; head -c $((16 + 784 * (idx + 1))) "$IMAGES" | tail -c 784; } >"$f"
    done
else
    echo "make_digits: no raw MNIST test set in $DATA (scripts/fetch_mnist.sh); skipped the test-set images" >&2
fi
echo "make_digits: wrote $(ls "$OUT" | wc -l) files to $OUT" >&2
