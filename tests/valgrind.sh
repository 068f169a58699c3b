#!/usr/bin/env bash
# The CLI end to end under valgrind (memcheck): no invalid reads or writes,
# no uses of uninitialised values, no definite or indirect leaks, on the
# success paths and on a few error paths. Skipped (77) without valgrind.
#
# valgrind runs with --leak-check=full --errors-for-leak-kinds=definite,indirect
# and --error-exitcode=1 (99 on the error paths, which exit 1 themselves).
# Everything runs with one thread (--threads 1, OMP_NUM_THREADS=1), so libgomp starts no thread pool; what
# libgomp and the C library keep until exit is "still reachable" or
# "possibly lost", which is not counted, so no suppressions are needed.
# valgrind cannot execute AVX-512 instructions: if the binary under test was
# built with -march=native on such a CPU and dies of SIGILL, a portable copy
# (-DMNIST_NATIVE=OFF) is built in WORK_DIR and tested instead (about 15 s).
# Usage: valgrind.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
command -v valgrind >/dev/null || { echo "valgrind.sh: no valgrind, skipped"; exit 77; }
# valgrind and AddressSanitizer cannot run one process together; the plain
# build's run of this test covers it
if grep -qa "__asan_init" "$MNIST"; then echo "valgrind.sh: $MNIST is an ASan build, skipped"; exit 77; fi
work_dir
export OMP_NUM_THREADS=1 # predict has no --threads
gen_data data 300 100 5
VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect)

# vg WANT_EXIT CMD_ARGS... : runs `mnist CMD_ARGS` under valgrind
vg() {
  local want=$1; shift
  local code=1
  [ "$want" -ne 0 ] && code=99
  "${VG[@]}" --error-exitcode=$code --log-file=vg.log "$MNIST" "$@" >out.txt 2>err.txt
  local rc=$?
  if [ $rc -eq "$want" ] && [ ! -s vg.log ]; then
    ok
  else
    bad "exit $rc (wanted $want): mnist $*"
    head -40 vg.log err.txt >&2
  fi
  return 0
}

# a binary valgrind cannot run (AVX-512) gets a portable twin
("${VG[@]}" --log-file=vg.log "$MNIST" train --data data --epochs 1 --threads 1 --quiet --output probe.bin) \
  >/dev/null 2>&1
if [ $? -eq 132 ] || grep -q "Illegal opcode\|unhandled instruction" vg.log; then
  echo "valgrind.sh: $MNIST uses instructions valgrind cannot run; building a portable copy (-DMNIST_NATIVE=OFF)"
  command -v cmake >/dev/null || { echo "valgrind.sh: no cmake to build it, skipped"; exit 77; }
  cmake -S "$SRC" -B portable -DMNIST_NATIVE=OFF -DBUILD_TESTING=OFF >build.log 2>&1 &&
    cmake --build portable -j2 --target mnist >>build.log 2>&1 ||
    { echo "FAIL: portable build failed" >&2; tail -20 build.log >&2; exit 1; }
  MNIST=$WORK/portable/mnist
fi
rm -f probe.bin

# --- success paths ----------------------------------------------------------
vg 0 train --data data --epochs 1 --threads 1 --quiet --output m.bin --checkpoint ck.bin --log log.csv
vg 0 train --resume ck.bin --epochs 2 --data data --threads 1 --verbose 2 --output m2.bin
vg 0 train --data data --epochs 1 --threads 1 --quiet --output c.bin --arch "conv:4:3,relu,maxpool:2,dense:10" \
   --optimizer sgd --momentum 0.9 --validation-split 0.2 --early-stopping 1
vg 0 eval m.bin --data data --threads 1
vg 0 eval c.bin --data data --threads 1 --json --errors errors.png
vg 0 summary
vg 0 summary --arch lenet5
printf 'P2\n5 5\n255\n255 255 255 255 255\n255 0 0 0 255\n255 255 0 255 255\n255 255 0 255 255\n255 255 255 255 255\n' >digit.pgm
vg 0 predict m.bin digit.pgm --show
[ -s m.bin ] && [ -s m2.bin ] && [ -s c.bin ] && [ -s errors.png ] || bad "outputs missing"

# --- error paths (exit 1, one line) ---------------------------------------------
head -c 300 m.bin >trunc.bin
vg 1 eval trunc.bin --data data --threads 1
vg 1 train --data "$WORK/nowhere" --epochs 1 --threads 1
printf 'P5\n4 4\n255\nab' >short.pgm
vg 1 predict m.bin short.pgm
vg 2 train --arch "dense:12,warp" --data data

finish valgrind
