#!/usr/bin/env bash
# The installed library, as a user's program sees it: configures, builds and
# installs this source tree into a temporary prefix (a build of its own in
# WORK_DIR, tests off), checks what was installed (every header, mnist.h
# including each, mnist.pc, the CMake package, no -march=native or OpenMP
# compile flags handed to users), then builds scripts/classify.c against the
# prefix with pkg-config and with find_package(mnist), runs both on images
# this test writes with a model the installed `mnist` trains on a synthetic
# set, and wants exactly `mnist predict --top 1`'s lines. Then the same with
# -DMNIST_SHARED=ON (libmnist.so; a portable Debug build without OpenMP).
# Usage: install.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
for tool in cmake cc; do
  command -v $tool >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
# without pkg-config (not in the README's apt-get line) its half is left out
have_pc=1
command -v pkg-config >/dev/null || { have_pc=0; echo "NOTE: pkg-config is not installed: its checks are left out"; }
work_dir
export CMAKE_BUILD_PARALLEL_LEVEL=2 # a shared 2-core machine
unset CMAKE_PREFIX_PATH PKG_CONFIG_PATH CFLAGS LDFLAGS

# pgm FILE SCALE CLASS BG INK [BH BW] : a plain PGM (P2) of (28*SCALE)^2 pixels
# with a BH x BW block (default 6 x 4, as the synthetic set's) at CLASS's place
# in INK on BG.
pgm() {
  awk -v s="$2" -v c="$3" -v bg="$4" -v ink="$5" -v bh="${6:-6}" -v bw="${7:-4}" 'BEGIN {
    n = 28 * s; y0 = 3 + int(c / 5) * 12; x0 = 1 + (c % 5) * 5
    printf "P2\n# class %d\n%d %d\n255\n", c, n, n
    for (y = 0; y < n; y++) {
      line = ""
      for (x = 0; x < n; x++) {
        yy = int(y / s); xx = int(x / s)
        v = (yy >= y0 && yy < y0 + bh && xx >= x0 && xx < x0 + bw) ? ink : bg
        line = line (x ? " " : "") v
      }
      print line
    }
  }' >"$1"
}

# install_tree NAME CMAKE_OPTION... : configure, build and install into
# $WORK/NAME (build in $WORK/build-NAME); the test ends if that fails. The
# default build type is the product's (Release).
install_tree() {
  local name=$1; shift
  if ! cmake -S "$SRC" -B "$WORK/build-$name" -DBUILD_TESTING=OFF \
         -DCMAKE_INSTALL_PREFIX="$WORK/$name" "$@" >"$WORK/$name-configure.txt" 2>&1 ||
     ! cmake --build "$WORK/build-$name" >"$WORK/$name-build.txt" 2>&1 ||
     ! cmake --install "$WORK/build-$name" >"$WORK/$name-install.txt" 2>&1; then
    echo "FAIL: configure, build or install ($name, $*):" >&2
    tail -20 "$WORK/$name"-*.txt >&2
    exit 1
  fi
}

# consumer NAME PREFIX TARGET : a CMake project of a user's, in $WORK/NAME,
# building classify.c with find_package(mnist) and TARGET
consumer() {
  mkdir -p "$WORK/$1"
  cat >"$WORK/$1/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.16)
project(uses_mnist LANGUAGES C)
find_package(mnist 0.1 REQUIRED)
add_executable(classify "$SRC/scripts/classify.c")
set_target_properties(classify PROPERTIES C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
target_compile_options(classify PRIVATE -Wall -Wextra -Wpedantic -Werror)
target_link_libraries(classify PRIVATE $3)
EOF
  cmake -S "$WORK/$1" -B "$WORK/$1/build" -DCMAKE_PREFIX_PATH="$2" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
        >"$WORK/$1.txt" 2>&1 && cmake --build "$WORK/$1/build" >>"$WORK/$1.txt" 2>&1
}

# installed PREFIX : the checks on an installed tree
installed() {
  local p=$1 h name
  check "$p: bin/mnist" test -x "$p/bin/mnist"
  check "$p: lib/libmnist.a" test -f "$p/lib/libmnist.a"
  check "$p: mnist.pc" test -f "$p/lib/pkgconfig/mnist.pc"
  check "$p: CMake package" test -f "$p/lib/cmake/mnist/mnistConfig.cmake" -a \
        -f "$p/lib/cmake/mnist/mnistConfigVersion.cmake" -a -f "$p/lib/cmake/mnist/mnistTargets.cmake"
  check "$p: umbrella header" test -f "$p/include/mnist/mnist.h"
  for h in "$SRC"/include/mnist/*.h; do
    name=$(basename "$h")
    check "$p: $name installed, the same" cmp -s "$h" "$p/include/mnist/$name"
    [ "$name" = mnist.h ] && continue
    check "mnist.h includes $name" grep -q "^#include \"mnist/$name\"$" "$SRC/include/mnist/mnist.h"
  done
  # what a user compiles with: the include directory, nothing of the product's
  local cflags
  [ $have_pc = 1 ] || return 0
  read -ra cflags <<<"$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags mnist)"
  check "$p: pkg-config --cflags is -I<prefix>/include (${cflags[*]})" \
        test ${#cflags[@]} -eq 1 -a "$(cd "${cflags[0]#-I}" 2>/dev/null && pwd -P)" = "$(cd "$p/include" && pwd -P)"
  check "$p: pkg-config version" test "$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --modversion mnist)" = \
        "$(sed -n 's/^project(mnist VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")"
  check "$p: no -march in mnist.pc" bash -c "! grep -q -- -march '$p/lib/pkgconfig/mnist.pc'"
  check "$p: no -march in the CMake package" bash -c "! grep -rq -- -march '$p/lib/cmake/mnist'"
  check "$p: no compile options in the exported targets" \
        bash -c "! grep -rqE 'INTERFACE_COMPILE_(OPTIONS|DEFINITIONS)' '$p/lib/cmake/mnist'"
}

# agree PREFIX CLASSIFY : CLASSIFY's lines are those of PREFIX's `mnist predict
# --top 1`, with and without --raw; --raw gets the drawn classes right; errors
agree() {
  local p=$1 cl=$2
  expect 0 "$p/bin/mnist" predict m.bin --top 1 "${images[@]}"; cp out.txt want.txt
  expect 0 "$cl" m.bin "${images[@]}"
  check "$cl: = mnist predict --top 1" cmp -s out.txt want.txt
  check "$cl: a line per image" test "$(grep -cE '^[^ ]+: [0-9] \([0-9]+\.[0-9]%\)$' out.txt)" -eq ${#images[@]}
  check "$cl: nothing on stderr" test ! -s err.txt
  expect 0 "$p/bin/mnist" predict m.bin --top 1 --raw c3.pgm c7.pgm c9big.pgm; cp out.txt want.txt
  expect 0 "$cl" --raw m.bin c3.pgm c7.pgm c9big.pgm
  check "$cl --raw: = mnist predict --raw --top 1" cmp -s out.txt want.txt
  check "$cl --raw: the drawn classes" \
        bash -c "grep -q '^c3.pgm: 3 ' out.txt && grep -q '^c7.pgm: 7 ' out.txt && grep -q '^c9big.pgm: 9 ' out.txt"
  # errors: one line each, exit 1 (2 for usage); good images still classified
  expect 2 "$cl"
  expect 2 "$cl" m.bin
  expect 0 "$cl" --help; check "$cl --help" grep -q '^Usage: classify' out.txt
  expect 1 "$cl" missing.bin c3.pgm
  check "$cl: missing model, one line naming it" \
        bash -c "[ \$(wc -l <err.txt) -eq 1 ] && grep -q '^classify: .*missing.bin' err.txt"
  expect 1 "$cl" m.bin c3.pgm garbage.png c7.pgm
  check "$cl: bad image, one line naming it" \
        bash -c "[ \$(wc -l <err.txt) -eq 1 ] && grep -q '^classify: garbage.png: ' err.txt"
  check "$cl: the good ones still classified" test "$(grep -c '^c[37].pgm: ' out.txt)" -eq 2
}

# --- static library, the product's default options (-march=native, OpenMP) --
install_tree static
installed "$WORK/static"
check "the installed mnist is this one" test "$("$WORK/static/bin/mnist" --version)" = "$("$MNIST" --version)"
check "static: was built with -march=native" grep -q '^MNIST_NATIVE:BOOL=ON' "$WORK/build-static/CMakeCache.txt"
check "static: no libmnist.so without MNIST_SHARED" bash -c "! ls '$WORK'/static/lib/libmnist.so* 2>/dev/null"

# a model, and pictures: blocks of several shapes and sizes, light on dark and
# dark on light (PGM), and a data set image drawn by `mnist show` (PNG)
gen_data "$WORK/data" 2000 200 11
expect 0 "$WORK/static/bin/mnist" train --epochs 2 --data "$WORK/data" --output m.bin --seed 3 --quiet
[ -s m.bin ] || { echo "FAIL: no model" >&2; exit 1; }
pgm c3.pgm 1 3 25 230
pgm c7.pgm 1 7 25 230
pgm c9big.pgm 3 9 25 230
pgm paper.pgm 2 0 240 20
pgm tall.pgm 1 5 10 250 12 3
pgm wide.pgm 2 2 30 200 3 11
pgm square.pgm 1 8 0 255 7 7
expect 0 "$WORK/static/bin/mnist" show --data "$WORK/data" --png shown.png 4
head -c 3000 /dev/urandom | tr -d 'P\211' >garbage.png
images=(c3.pgm c7.pgm c9big.pgm paper.pgm tall.pgm wide.pgm square.pgm shown.png)

# pkg-config, as a user would: cc -std=c11 ... $(pkg-config --cflags --libs mnist)
pc() { PKG_CONFIG_PATH="$WORK/static/lib/pkgconfig" pkg-config "$@" mnist; }
if [ $have_pc = 1 ]; then
  expect 0 cc -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 $(pc --cflags) "$SRC/scripts/classify.c" $(pc --libs) \
         -o classify-pc
  check "pkg-config: built against libmnist.a" bash -c "! ldd classify-pc | grep -q libmnist"
  agree "$WORK/static" ./classify-pc
fi

# find_package(mnist) and mnist::mnist
if consumer use-static "$WORK/static" mnist::mnist; then ok; else bad "find_package build (static)"; cat "$WORK/use-static.txt" >&2; fi
cmds="$WORK/use-static/build/compile_commands.json"
check "find_package: classify.c compiled without -march" bash -c "[ -s '$cmds' ] && ! grep -q -- -march '$cmds'"
check "find_package: classify.c compiled without -fopenmp" bash -c "[ -s '$cmds' ] && ! grep -q -- -fopenmp '$cmds'"
check "find_package: includes the prefix" grep -qE -- "(-I|-isystem )$WORK/static/include" "$cmds"
agree "$WORK/static" "$WORK/use-static/build/classify"
# a version the package is not
mkdir -p "$WORK/use-v9"
printf 'cmake_minimum_required(VERSION 3.16)\nproject(v LANGUAGES C)\nfind_package(mnist 9.0 REQUIRED)\n' \
  >"$WORK/use-v9/CMakeLists.txt"
expect 1 cmake -S "$WORK/use-v9" -B "$WORK/use-v9/build" -DCMAKE_PREFIX_PATH="$WORK/static"
check "find_package(mnist 9.0) refused" grep -q "version" err.txt

# --- MNIST_SHARED=ON: libmnist.so too (portable, no OpenMP; a Debug build,
# unoptimised, as it compiles every source twice and only has to be right) --
install_tree shared -DMNIST_SHARED=ON -DMNIST_NATIVE=OFF -DMNIST_OPENMP=OFF -DCMAKE_BUILD_TYPE=Debug
installed "$WORK/shared"
check "shared: libmnist.so installed" test -f "$WORK/shared/lib/libmnist.so" -a -f "$WORK/shared/lib/libmnist.a"
pc() { PKG_CONFIG_PATH="$WORK/shared/lib/pkgconfig" pkg-config "$@" mnist; }
check "shared: no OpenMP in mnist.pc" bash -c "! grep -q openmp '$WORK/shared/lib/pkgconfig/mnist.pc'"
if [ $have_pc = 1 ]; then
  expect 0 cc -std=c11 -Wall -Wextra -Wpedantic -Werror -O2 $(pc --cflags) "$SRC/scripts/classify.c" $(pc --libs) \
         -Wl,-rpath,"$WORK/shared/lib" -o classify-so
  check "pkg-config: linked to libmnist.so" bash -c "ldd classify-so | grep -q '$WORK/shared/lib/libmnist.so'"
  agree "$WORK/shared" ./classify-so
fi
if consumer use-shared "$WORK/shared" mnist::mnist_shared; then ok; else bad "find_package build (shared)"; cat "$WORK/use-shared.txt" >&2; fi
check "find_package: linked to libmnist.so" \
      bash -c "ldd '$WORK/use-shared/build/classify' | grep -q '$WORK/shared/lib/libmnist.so'"
agree "$WORK/shared" "$WORK/use-shared/build/classify"
# and the static target from the same prefix
if consumer use-shared-static "$WORK/shared" mnist::mnist; then ok; else bad "find_package build (static of shared)"; cat "$WORK/use-shared-static.txt" >&2; fi
check "find_package mnist::mnist: not the .so" bash -c "! ldd '$WORK/use-shared-static/build/classify' | grep -q libmnist"
agree "$WORK/shared" "$WORK/use-shared-static/build/classify"

# the test's builds are big; keep the prefixes and logs only when something failed
[ "$fail" -eq 0 ] && rm -rf "$WORK"/build-static "$WORK"/build-shared
finish install
