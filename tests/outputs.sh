#!/usr/bin/env bash
# Outputs that are not regular files (issue 22 part 4): a character device,
# a FIFO and "-" are written in place, never replaced; regular files are
# still replaced atomically; a symbolic link is followed (its target is
# replaced, the link stays). The character device is our own copy of
# /dev/null (mknod, as root) so that a regression clobbers only that copy;
# without root /dev/null itself is used (it cannot be replaced then).
# Usage: outputs.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir
gen_data "$WORK/data" 600 100 5

if [ "$(id -u)" = 0 ] && mknod "$WORK/null" c 1 3 2>/dev/null; then NULLDEV=$WORK/null; else NULLDEV=/dev/null; fi
is_chardev() { test -c "$NULLDEV" && test -c /dev/null; }

# reference outputs, as regular files
expect 0 "$MNIST" train --epochs 1 --data data --output ref.bin --seed 2 --verbose 0
expect 0 "$MNIST" show --data data --png ref.png 0 1 2

# --- a character device ------------------------------------------------------
expect 0 "$MNIST" train --epochs 1 --data data --output "$NULLDEV" --checkpoint "$NULLDEV" --plot "$NULLDEV" --seed 2 --verbose 0
check "train --output/--checkpoint/--plot on a char device: still a device" is_chardev
expect 0 "$MNIST" show --data data --png "$NULLDEV" 0 1 2
check "show --png on a char device: still a device" is_chardev
expect 0 "$MNIST" eval ref.bin --data data --errors "$NULLDEV"
check "eval --errors on a char device: still a device" is_chardev
check "no temporary files beside the device" bash -c "! ls '$(dirname "$NULLDEV")' | grep -q '^null\.tmp\.'"

# --- a FIFO: the reader gets the whole file -----------------------------------
mkfifo fifo
timeout 20 cat fifo >got.bin & reader=$!
expect 0 timeout 60 "$MNIST" train --epochs 1 --data data --output fifo --seed 2 --verbose 0
wait $reader
check "train --output FIFO: still a FIFO" test -p fifo
check "train --output FIFO: the reader got the model" cmp -s got.bin ref.bin
timeout 20 cat fifo >got.png & reader=$!
expect 0 timeout 60 "$MNIST" show --data data --png fifo 0 1 2
wait $reader
check "show --png FIFO: still a FIFO" test -p fifo
check "show --png FIFO: the reader got the PNG" cmp -s got.png ref.png
check "no temporary files beside the FIFO" bash -c "! ls | grep -q '^fifo\.tmp\.'"

# --- "-": standard output ------------------------------------------------------
expect 0 "$MNIST" show --data data --png - 0 1 2
check "show --png -: the PNG alone on stdout" cmp -s out.txt ref.png
check "no file named -" test ! -e ./-

# --- regular files and symbolic links -------------------------------------------
echo old >reg.png
ln reg.png hard.png
expect 0 "$MNIST" show --data data --png reg.png 0 1 2
check "regular file replaced (new inode: the hard link keeps the old data)" grep -qx old hard.png
check "regular file has the new data" cmp -s reg.png ref.png
mkdir sub && echo old >sub/target.png && ln -s sub/target.png link.png
expect 0 "$MNIST" show --data data --png link.png 0 1 2
check "symlink stays a symlink" test -L link.png
check "symlink's target has the new data" cmp -s sub/target.png ref.png
check "no temporary files beside the link or its target" bash -c "! ls . sub | grep -q '\.tmp\.'"
ln -s nowhere/x.png dangling.png
expect 1 "$MNIST" show --data data --png dangling.png 0
check "dangling symlink: one-line error" one_line_err
check "dangling symlink: says so" grep -q "dangling.png: symbolic link to a file that does not exist" err.txt
check "dangling symlink: still dangling" bash -c "test -L dangling.png && test ! -e dangling.png"
ln -s "$NULLDEV" devlink
expect 0 "$MNIST" show --data data --png devlink 0
check "symlink to a device: the device written in place" is_chardev
check "symlink to a device: still a link" test -L devlink
expect 1 "$MNIST" show --data data --png sub 0
check "a directory: one-line error" one_line_err

check "/dev/null is still a character device" test -c /dev/null
finish outputs
