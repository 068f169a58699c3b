#!/usr/bin/env bash
# Cross-builds mnist for aarch64 Linux with Debian's gcc-aarch64-linux-gnu
# (scripts/aarch64-toolchain.cmake) and runs the tests under qemu-user:
# ctest runs the unit tests through CMAKE_CROSSCOMPILING_EMULATOR, the shell
# tests get wrapper scripts (<build>/emu/*) that exec the emulator.
#
#   scripts/cross_aarch64.sh [--install] [--quick] [BUILD_DIR]
#
# --install  apt-get installs the cross compiler, its C library and
#            qemu-user when they are missing (needs root; CI uses it)
# --quick    CI's subset: every unit test, fuzz_regress and predict (see
#            QUICK below)
# BUILD_DIR  default build-aarch64
# Exits 77 (skipped) when the tools are absent and --install was not given.
set -euo pipefail
cd "$(dirname "$0")/.."
install=0 quick=0 dir=build-aarch64
for a in "$@"; do
  case $a in
    --install) install=1 ;;
    --quick) quick=1 ;;
    -*) echo "usage: $0 [--install] [--quick] [BUILD_DIR]" >&2; exit 2 ;;
    *) dir=$a ;;
  esac
done
have_tools() { command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null; }
if ! have_tools; then
  if [ "$install" = 1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
  else
    echo "cross_aarch64.sh: no aarch64-linux-gnu-gcc or qemu-aarch64 (apt-get install gcc-aarch64-linux-gnu qemu-user), skipped"
    exit 77
  fi
fi
cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/scripts/aarch64-toolchain.cmake" -DCMAKE_BUILD_TYPE=Release
cmake --build "$dir" -j"$(nproc)"
# Under qemu-user a test runs 10-50x slower than natively (on the shared
# 2-core box, loaded: test_gemm 190 s, test_conv 115 s, predict 290 s,
# limits 720 s, cli over 900 s). The quick set is every unit test, the fuzz
# regression replay and predict (the CLI on images, models and errors);
# the full run adds cli, limits, show, bench, killtest and the data set
# tests, with longer time limits. valgrind is disabled in cross builds
# (the host's valgrind cannot run aarch64 code).
QUICK='^(test_.*|fuzz_regress|predict|isa)$'
if [ "$quick" = 1 ]; then
  ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" -R "$QUICK"
else
  ctest --test-dir "$dir" --output-on-failure -j"$(nproc)" --timeout 3600
fi
