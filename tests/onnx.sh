#!/usr/bin/env bash
# `mnist export --onnx`: usage and file errors, standard output, then small
# models of every exportable layer kind trained on synthetic data, checked
# with onnx's checker (Debian's python3-onnx, /usr/bin/python3) and run with
# ONNX Runtime (npm's onnxruntime-node, found in $MNIST_ONNXRUNTIME_DIR or
# <build dir>/onnxruntime: node_modules/onnxruntime-node; install it with
#   npm install --ignore-scripts --prefix build/onnxruntime onnxruntime-node@1.30
# ), whose probabilities must match `mnist eval --probs` within 1e-5 with the
# same predictions. Either tool missing: its checks are skipped, with a message.
# Usage: onnx.sh MNIST SOURCE_DIR WORK_DIR GEN_SYNTHETIC
set -u
MNIST=$1 SRC=$2 WORK=$3 GEN=$4
# shellcheck source=SCRIPTDIR/tools/lib.sh
. "$SRC/tests/tools/lib.sh" || exit 1
work_dir

# --- usage and file errors -------------------------------------------------
expect 0 "$MNIST" export --help;   check "export --help" grep -q "Usage: mnist export MODEL --onnx FILE" out.txt
check "--help lists export" sh -c "'$MNIST' --help | grep -q '^ *export'"
expect 2 "$MNIST" export
expect 2 "$MNIST" export m.bin
expect 2 "$MNIST" export m.bin --onnx
expect 2 "$MNIST" export m.bin --onnx x.onnx --bogus
expect 2 "$MNIST" export a.bin b.bin --onnx x.onnx
expect 1 "$MNIST" export nowhere.bin --onnx x.onnx
check "missing model: one line" one_line_err
check "missing model: names it" grep -q "nowhere.bin" err.txt
check "nothing written" test ! -e x.onnx

# --- models ------------------------------------------------------------------
gen_data "$WORK/data" 2000 400 7
PY=/usr/bin/python3
have_onnx=0
if [ -x "$PY" ] && "$PY" -c "import onnx" 2>/dev/null; then have_onnx=1; else
  echo "SKIP: onnx checker: /usr/bin/python3 cannot import onnx (apt-get install python3-onnx)"; fi
ORT_DIR=${MNIST_ONNXRUNTIME_DIR:-$(dirname "$MNIST")/onnxruntime}
have_ort=0
if command -v node >/dev/null && [ -d "$ORT_DIR/node_modules/onnxruntime-node" ]; then have_ort=1; else
  echo "SKIP: ONNX Runtime: no node or no $ORT_DIR/node_modules/onnxruntime-node" \
       "(set MNIST_ONNXRUNTIME_DIR, or npm install --ignore-scripts --prefix $ORT_DIR onnxruntime-node@1.30)"; fi

checker() { # checker FILE.onnx : onnx.checker.check_model(full_check=True)
  "$PY" - "$1" <<'PYEOF'
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.checker.check_model(m, full_check=True)
assert m.ir_version == 8, m.ir_version
assert [(o.domain, o.version) for o in m.opset_import] == [("", 13)], m.opset_import
d = m.graph.input[0].type.tensor_type.shape.dim
assert d[0].dim_param == "N" and [x.dim_value for x in d[1:]] == [1, 28, 28], d
meta = {p.key: p.value for p in m.metadata_props}
assert "arch" in meta and "test_accuracy" in meta and "optimizer" in meta, meta
PYEOF
}

i=0
for arch in "mlp" "lenet5" "dense:32,sigmoid,dropout:0.3,dense:10" \
            "conv:4:3:same,relu,maxpool:2,conv:6:3x5:s2:p1x2,tanh,avgpool:2:s1,flatten,dense:16,relu,dense:10" \
            "conv:3:5:glorot,maxpool:3:s2,relu,dense:12,tanh,conv:4:1,dense:10" \
            "dense:196,leakyrelu:0.2,reshape:4:7:7,upsample:2,convtranspose:3:4:s2:p1,relu,maxpool:4,dense:10"; do
  i=$((i + 1))
  expect 0 "$MNIST" train --arch "$arch" --epochs 1 --data "$WORK/data" --output "m$i.bin" --seed 5
  expect 0 "$MNIST" export "m$i.bin" --onnx "m$i.onnx";  check "$arch: exported" test -s "m$i.onnx"
  check "$arch: no temporary file left" sh -c "! ls m$i.onnx.tmp.* 2>/dev/null | grep -q ."
  expect 0 "$MNIST" export "m$i.bin" --logits --onnx "m$i.logits.onnx"
  "$MNIST" export "m$i.bin" --onnx - >"m$i.stdout.onnx" 2>err.txt
  check "$arch: --onnx - writes the same bytes to stdout" cmp -s "m$i.onnx" "m$i.stdout.onnx"
  expect 0 "$MNIST" eval "m$i.bin" --data "$WORK/data" --probs "m$i.f32"
  check "$arch: probs file size" test "$(wc -c <"m$i.f32")" -eq $((400 * 10 * 4))
  if [ "$have_onnx" = 1 ]; then
    for f in "m$i.onnx" "m$i.logits.onnx"; do
      if checker "$f" >chk.txt 2>&1; then ok; else bad "$arch: onnx checker on $f"; cat chk.txt >&2; fi
    done
  fi
  if [ "$have_ort" = 1 ]; then
    for v in "" "--logits"; do
      f=m$i.onnx; [ -n "$v" ] && f=m$i.logits.onnx
      if node "$SRC/scripts/onnx_check.js" "$f" "$WORK/data" "m$i.f32" --ort "$ORT_DIR" $v >ort.txt 2>&1; then
        ok; cat ort.txt; else bad "$arch: ONNX Runtime vs mnist eval ($f)"; cat ort.txt >&2; fi
    done
  fi
done

# a file of two networks: --part
expect 0 "$MNIST" autoencode --arch vae --epochs 1 --data "$WORK/data" --output vae.bin
expect 1 "$MNIST" export vae.bin --onnx vae.onnx
check "two networks without --part: one line" one_line_err
check "two networks without --part: says --part" grep -q -- "--part" err.txt
expect 1 "$MNIST" export vae.bin --part bogus --onnx vae.onnx
check "bad --part: one line" one_line_err
for p in encoder decoder; do
  expect 0 "$MNIST" export vae.bin --part $p --onnx "vae.$p.onnx"
  check "vae $p: exported" test -s "vae.$p.onnx"
done
if [ "$have_onnx" = 1 ]; then
  if "$PY" - vae.encoder.onnx vae.decoder.onnx >chk.txt 2>&1 <<'PYEOF'
import sys, onnx
dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
enc, dec = (onnx.load(f) for f in sys.argv[1:])
for m in (enc, dec):
    onnx.checker.check_model(m, full_check=True)
    assert m.graph.output[0].name == "output", m.graph.output
assert dims(enc.graph.input[0]) == ["N", 1, 28, 28], dims(enc.graph.input[0])
assert dims(dec.graph.input[0])[0] == "N" and len(dims(dec.graph.input[0])) == 2, dims(dec.graph.input[0])
assert dims(dec.graph.output[0]) == ["N", 1, 28, 28], dims(dec.graph.output[0])
assert "ConvTranspose" in [n.op_type for n in dec.graph.node]
PYEOF
  then ok; else bad "vae encoder/decoder: onnx checker"; cat chk.txt >&2; fi
fi

# the ONNX Runtime check fails when the probabilities differ
if [ "$have_ort" = 1 ]; then
  expect 0 "$MNIST" train --arch mlp --epochs 1 --data "$WORK/data" --output other.bin --seed 6
  "$MNIST" eval other.bin --data "$WORK/data" --probs other.f32 >/dev/null
  expect 1 node "$SRC/scripts/onnx_check.js" m1.onnx "$WORK/data" other.f32 --ort "$ORT_DIR"
  check "a different model's probabilities are reported" grep -q "FAIL" out.txt
fi

finish onnx
