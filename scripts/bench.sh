#!/usr/bin/env bash
# bench.sh - our speed next to OpenBLAS's and PyTorch's, measured in the same run.
#
#   scripts/bench.sh [--quick] [--rounds R] [--epochs E] [--threads N] [--data DIR]
#                    [--cnn-steps S] [--no-cnn] [--gemm-only] [--torch-oob] [--torch-threads N]
#                    [--build-dir DIR] [--out DIR]
#   scripts/bench.sh --report DIR     (the tables again from an earlier --out DIR)
#
# Builds `mnist` (cmake, in build/ unless --build-dir) if needed, then runs R
# rounds (default 3), each of: `mnist bench --json`, scripts/bench_openblas.c
# (compiled here with cc -O3 -march=native ... -lopenblas) and
# scripts/torch_bench.py --json, one after the other, so that machine noise
# hits all of them alike; each reports one value per round and the tables show
# the median over the rounds:
#
#   SGEMM     GFLOP/s per shape (training shapes of mlp and wide, squares),
#             1 thread and N threads; ratio = ours / theirs (> 1: we are faster)
#             of the medians, and "per round" against OpenBLAS: the median of
#             each round's own ratio (see below)
#   training  seconds per epoch of mlp, wide, cnn with the recipes of `mnist
#             train` (E epochs per round, default 2; cnn: one full epoch, or
#             with --cnn-steps S only S steps extrapolated to an epoch, which
#             overstates ours a little: the thread count's first check, a few
#             steps at 1 thread, then weighs on S steps, not on 469);
#             speedup = theirs / ours (> 1: we are faster) of the medians, and
#             "per round": the median of each round's own ratio, which a
#             machine whose speed swings between rounds moves less;
#             startup seconds.
#             Our training runs as `mnist train` does by default: its thread
#             count (1..N) chosen by timing steps; --threads N fixes it at N.
#
# PyTorch runs in its best configuration on a small machine
# (torch.set_num_threads(N), OPENBLAS_NUM_THREADS=1; N is --torch-threads,
# default --threads); --torch-oob adds a training run out of the box (Debian's
# torch then takes one thread per physical core) as one more column.
# OpenBLAS and PyTorch are optional: without the cblas.h header and
# -lopenblas, or without a python3 that imports torch ($PYTHON, python3,
# /usr/bin/python3 are tried), the run says so and that column shows "-".
#
# --quick: 2 rounds, 1 epoch, no cnn, shorter GEMM timings. The raw JSON of
# every run stays in --out DIR (default: a new temporary directory).
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
OUT=
rounds=3 epochs=2 cnn_steps=0 gemm_seconds=0.1 cnn=1 gemm_only=0 torch_oob=0
threads=$(nproc 2>/dev/null || echo 1) threads_set=0
torch_threads=
report_dir=
data=${MNIST_DATA:-$ROOT/data/mnist}

usage() {
  sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
need() { [ $# -ge 2 ] || { echo "bench.sh: $1 needs a value" >&2; usage; }; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) rounds=2 epochs=1 cnn=0 gemm_seconds=0.05 ;;
    --rounds) need "$@"; rounds=$2; shift ;;
    --epochs) need "$@"; epochs=$2; shift ;;
    --threads) need "$@"; threads=$2 threads_set=1; shift ;;
    --data) need "$@"; data=$2; shift ;;
    --cnn-steps) need "$@"; cnn_steps=$2; shift ;;
    --no-cnn) cnn=0 ;;
    --gemm-only) gemm_only=1 ;;
    --torch-oob) torch_oob=1 ;;
    --torch-threads) need "$@"; torch_threads=$2; shift ;;
    --build-dir) need "$@"; BUILD=$2; shift ;;
    --out) need "$@"; OUT=$2; shift ;;
    --report) need "$@"; report_dir=$2; shift ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench.sh: unknown option '$1'" >&2; usage ;;
  esac
  shift
done
torch_threads=${torch_threads:-$threads}
for v in "$rounds" "$epochs" "$threads" "$cnn_steps" "$torch_threads"; do
  case $v in ''|*[!0-9]*) echo "bench.sh: '$v' is not a non-negative integer" >&2; exit 2 ;; esac
done
if [ "$rounds" -lt 1 ] || [ "$epochs" -lt 1 ] || [ "$threads" -lt 1 ] || [ "$torch_threads" -lt 1 ]; then
  echo "bench.sh: --rounds, --epochs, --threads, --torch-threads must be >= 1" >&2
  exit 2
fi

# --- the tables (from the JSON files of a results directory) -------------
report() {
  cd "$1" || exit 1
  # shellcheck disable=SC2046 # the file names have no spaces
  awk '
function field(line, key,    s) {
  if (!match(line, "\"" key "\": (\"[^\"]*\"|[^,}]+)")) return ""
  s = substr(line, RSTART, RLENGTH)
  sub(/^"[^"]*": /, "", s)
  gsub(/"/, "", s)
  return s
}
function add(k, v) { vals[k] = (k in vals) ? vals[k] " " v : v }
function median(k,    n, a, i, j, t) {
  if (!(k in vals)) return -1
  n = split(vals[k], a, " ")
  for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
  return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}
function num(v, fmt) { return v < 0 ? "-" : sprintf(fmt, v) }
# median over the rounds of vals[kt] / vals[ko], round by round
function round_ratio(kt, ko,    n, a, b, i, r) {
  if (!(kt in vals) || !(ko in vals) || (n = split(vals[kt], a, " ")) != split(vals[ko], b, " ")) return -1
  r = ""
  for (i = 1; i <= n; i++) if (a[i] + 0 > 0 && b[i] + 0 > 0) r = r (r == "" ? "" : " ") (a[i] / b[i])
  if (r == "") return -1
  vals["ratio" SUBSEP kt] = r
  return median("ratio" SUBSEP kt)
}
function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }
{
  tool = FILENAME; sub(/\..*/, "", tool)
  if (FNR == 1) {
    files[tool]++
    if (tool == "ours") { threads = field($0, "threads"); tt = field($0, "train_threads") }
  }
  if ($0 ~ /"config": "/) cfg[tool] = field($0, "config")
  if ($0 ~ /"name": "/) {
    k = field($0, "name")
    if (!(k in seen_g)) { seen_g[k] = 1; gorder[++ng] = k; gop[k] = field($0, "op") }
    add(tool SUBSEP k SUBSEP "1", field($0, "gflops_1t"))
    add(tool SUBSEP k SUBSEP "n", field($0, "gflops_nt"))
  } else if ($0 ~ /"model": "/) {
    k = field($0, "model")
    if (!(k in seen_t)) { seen_t[k] = 1; torder[++nt] = k; recipe[k] = field($0, "recipe") }
    add(tool SUBSEP k SUBSEP "spe", field($0, "sec_per_epoch"))
    add(tool SUBSEP k SUBSEP "start", field($0, "startup_s"))
    add(tool SUBSEP k SUBSEP "ips", field($0, "images_per_s"))
    if (field($0, "extrapolated") == "true") extrap[tool SUBSEP k] = 1
  } else if ($0 ~ /"train_note": "[^"]/) {
    note[tool] = field($0, "train_note")
  }
}
END {
  rounds = files["ours"]; oob = ("torchoob" in files)
  for (pass = 1; pass <= 2; pass++) {
    t = pass == 1 ? "1" : "n"
    printf "SGEMM GFLOP/s, %s, median of %d rounds (ratio = ours / theirs; > 1: ours is faster)\n",
           pass == 1 ? "1 thread" : threads " threads", rounds
    printf "%-16s %-2s %9s %9s %6s %9s %9s %6s\n", "shape", "op", "ours", "OpenBLAS", "ratio", "per round", "torch.mm",
           "ratio"
    for (i = 1; i <= ng; i++) {
      k = gorder[i]
      o = median("ours" SUBSEP k SUBSEP t); b = median("openblas" SUBSEP k SUBSEP t); p = median("torch" SUBSEP k SUBSEP t)
      printf "%-16s %-2s %9s %9s %6s %9s %9s %6s\n", k, gop[k], num(o, "%.1f"), num(b, "%.1f"), ratio(o, b),
             num(round_ratio("ours" SUBSEP k SUBSEP t, "openblas" SUBSEP k SUBSEP t), "%.2f"), num(p, "%.1f"), ratio(o, p)
    }
    print ""
  }
  if (!("openblas" in files)) print "OpenBLAS: skipped (not available)"
  if (!("torch" in files)) print "PyTorch: skipped (not available)"
  else print "PyTorch: " cfg["torch"]
  if (!nt && !("ours" in note)) exit # --gemm-only
  if ("ours" in note) { print "Training: skipped: " note["ours"]; exit }
  printf "Training on real data, %s threads: seconds per epoch, median of %d rounds (speedup = theirs / ours; > 1: ours is faster)\n",
         (tt == "auto" ? "ours 1-" threads " (chosen by timing, as mnist train), PyTorch " threads : threads), rounds
  hdr = sprintf("%-5s %-26s %10s %10s %7s %9s", "model", "recipe", "ours ", "torch ", "speedup", "per round")
  if (oob) hdr = hdr sprintf(" %10s %7s", "torch oob ", "speedup")
  hdr = hdr sprintf(" %10s %9s %9s", "ours img/s", "startup", "torch st.")
  print hdr
  for (i = 1; i <= nt; i++) {
    k = torder[i]
    o = median("ours" SUBSEP k SUBSEP "spe"); p = median("torch" SUBSEP k SUBSEP "spe")
    line = sprintf("%-5s %-26s %9s%1s %9s%1s %7s %9s", k, recipe[k], num(o, "%.3f"), (("ours" SUBSEP k) in extrap ? "*" : ""),
                   num(p, "%.3f"), (("torch" SUBSEP k) in extrap ? "*" : ""), ratio(p, o),
                   num(round_ratio("torch" SUBSEP k SUBSEP "spe", "ours" SUBSEP k SUBSEP "spe"), "%.2f"))
    if (oob) { q = median("torchoob" SUBSEP k SUBSEP "spe"); line = line sprintf(" %9s%1s %7s", num(q, "%.3f"), (("torchoob" SUBSEP k) in extrap ? "*" : ""), ratio(q, o)) }
    line = line sprintf(" %10s %9s %9s", num(median("ours" SUBSEP k SUBSEP "ips"), "%.0f"), num(median("ours" SUBSEP k SUBSEP "start"), "%.3f"),
                        num(median("torch" SUBSEP k SUBSEP "start"), "%.3f"))
    print line
    if ((("ours" SUBSEP k) in extrap) || (("torch" SUBSEP k) in extrap)) star = 1
  }
  if (star) print "* extrapolated to an epoch from a partial one (--cnn-steps)"
  if ("torch" in note) print "PyTorch training: skipped: " note["torch"]
  if (oob) print "torch oob: " cfg["torchoob"]
  print "startup: parse, load train and t10k, build the model (torch: also importing torch)"
}' $(ls ours.*.json openblas.*.json torch.*.json torchoob.*.json 2>/dev/null)
  echo "raw results: $1"
}
[ -n "$report_dir" ] && { report "$report_dir"; exit; }

if [ -z "$OUT" ]; then OUT=$(mktemp -d "${TMPDIR:-/tmp}/mnist-bench.XXXXXX") || exit 1; fi
mkdir -p "$OUT" || exit 1
models=mlp,wide
[ "$cnn" = 1 ] && models=mlp,wide,cnn

# --- build ------------------------------------------------------------------
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S "$ROOT" -B "$BUILD" >"$OUT/build.log" 2>&1 || { echo "bench.sh: cmake failed, see $OUT/build.log" >&2; exit 1; }
fi
cmake --build "$BUILD" --target mnist -j "$threads" >>"$OUT/build.log" 2>&1 ||
  { tail -n 20 "$OUT/build.log" >&2; echo "bench.sh: build failed, see $OUT/build.log" >&2; exit 1; }
MNIST=$BUILD/mnist

oblas=
if cc -O3 -march=native "$ROOT/scripts/bench_openblas.c" -o "$OUT/bench_openblas" -lopenblas \
     >"$OUT/openblas_build.log" 2>&1; then
  oblas=$OUT/bench_openblas
else
  echo "bench.sh: OpenBLAS: skipped (cannot build scripts/bench_openblas.c with cblas.h and -lopenblas; see $OUT/openblas_build.log)" >&2
fi

py=
for p in ${PYTHON:-} python3 /usr/bin/python3; do
  if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' >/dev/null 2>&1; then py=$p; break; fi
done
[ -n "$py" ] || echo "bench.sh: PyTorch: skipped (no python3 that imports torch; set PYTHON)" >&2

# --- rounds -----------------------------------------------------------------
train_flags=(--epochs-time "$epochs" --cnn-steps "$cnn_steps")
[ "$gemm_only" = 1 ] && train_flags=(--gemm-only)
common=(--repeat 1 --gemm-seconds "$gemm_seconds" --json)
run() { # run NAME FILE CMD...: keeps stdout in FILE, stderr in FILE.err
  local name=$1 file=$2; shift 2
  printf ' %s' "$name" >&2
  if ! "$@" >"$file" 2>"$file.err"; then
    echo >&2
    echo "bench.sh: $name failed: $(tail -n 1 "$file.err")" >&2
    rm -f "$file"
    return 1
  fi
}
for r in $(seq 1 "$rounds"); do
  printf 'bench.sh: round %d/%d:' "$r" "$rounds" >&2
  ours_threads=()
  [ "$threads_set" = 1 ] && ours_threads=(--threads "$threads")
  run mnist "$OUT/ours.$r.json" "$MNIST" bench "${ours_threads[@]}" --data "$data" --models "$models" \
    "${train_flags[@]}" "${common[@]}" || exit 1
  [ -n "$oblas" ] && run openblas "$OUT/openblas.$r.json" "$oblas" --threads "$threads" "${common[@]}"
  [ -n "$py" ] && run torch "$OUT/torch.$r.json" "$py" "$ROOT/scripts/torch_bench.py" --threads "$torch_threads" \
    --data "$data" --models "$models" "${train_flags[@]}" "${common[@]}"
  [ -n "$py" ] && [ "$torch_oob" = 1 ] && [ "$gemm_only" = 0 ] &&
    run torch-oob "$OUT/torchoob.$r.json" "$py" "$ROOT/scripts/torch_bench.py" --out-of-the-box --no-gemm \
      --threads "$torch_threads" --data "$data" --models "$models" "${train_flags[@]}" "${common[@]}"
  echo >&2
done

report "$OUT"
