#!/usr/bin/env bash
# The AVX2 GEMM kernel's k loop keeps its 12 accumulators in registers under
# every tuning a user's -march=native may pick. It needs 15 of the 16 ymm
# registers; inlined into the kernel, GCC with generic, Haswell or Skylake
# tuning once kept an accumulator on the stack (a load-FMA-store chain on
# every k, half the speed), which no unit test can see and a Zen machine
# (-march=znver3 allocates it cleanly) never showed. Here src/kernels/gemm.c is
# compiled for each tuning and kloop_avx2's code must hold its 12 FMAs and
# no stack access.
# Usage: kernel_spills.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
SRC=$2 WORK=$3
CC=${CC:-cc}
[ "$(uname -m)" = x86_64 ] || { echo "SKIP: AVX2 kernels are x86-64 only"; exit 77; }
command -v "$CC" >/dev/null && command -v objdump >/dev/null ||
  { echo "SKIP: needs a C compiler ($CC) and objdump"; exit 77; }
mkdir -p "$WORK" || exit 1
fail=0
for tune in "-mavx2 -mfma" "-march=haswell" "-march=skylake" "-march=znver3"; do
  obj=$WORK/gemm.o
  # shellcheck disable=SC2086 # $tune is several flags
  if ! "$CC" -std=c11 -O3 -DNDEBUG -fno-math-errno $tune -I"$SRC/include" -I"$SRC/src" -c "$SRC/src/kernels/gemm.c" -o "$obj" 2>"$WORK/cc.err"; then
    echo "FAIL: $tune: src/kernels/gemm.c does not compile"; sed 's/^/  /' "$WORK/cc.err"; fail=1; continue
  fi
  code=$(objdump -d --no-show-raw-insn "$obj" | awk '/<kloop_avx2>:/ {on = 1; next} on && /^$/ {exit} on')
  fmas=$(printf '%s\n' "$code" | grep -c 'vfmadd')
  stack=$(printf '%s\n' "$code" | grep -cE '\((%rsp|%rbp)\)')
  if [ -z "$code" ]; then
    echo "FAIL: $tune: no kloop_avx2 in the object (inlined or renamed?)"; fail=1
  elif [ "$fmas" -ne 12 ] || [ "$stack" -ne 0 ]; then
    echo "FAIL: $tune: kloop_avx2 has $fmas FMAs (want 12) and $stack stack accesses (want 0):"
    printf '%s\n' "$code" | grep -E 'vfmadd|\((%rsp|%rbp)\)' | sed 's/^/  /'
    fail=1
  else
    echo "ok: $tune: 12 FMAs, no stack access"
  fi
done
exit $fail
