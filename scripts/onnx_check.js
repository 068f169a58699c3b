#!/usr/bin/env node
// onnx_check.js - runs an exported ONNX model with ONNX Runtime (npm's
// onnxruntime-node, CPU) on a data set's t10k images and compares its
// probabilities with those `mnist eval --probs` wrote for the same model.
//
//   node scripts/onnx_check.js MODEL.onnx DATA_DIR PROBS.f32 [--ort DIR] [--tol 1e-5] [--logits]
//
// DIR holds node_modules/onnxruntime-node (default: $MNIST_ONNXRUNTIME_DIR,
// else the current directory). Inputs are pixel * (1/255) rounded to float32,
// exactly as mnist's loader computes them. With --logits the model's output
// is logits and the softmax is taken here (in double) before comparing.
// Prints one line:
//   MODEL: 10000 images, same predictions: 10000/10000, max |prob diff|: 1.2e-7
// and exits 0 when every prediction agrees and every probability is within tol.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

function usage(msg) {
  process.stderr.write(`onnx_check.js: ${msg}\n` +
    'usage: node onnx_check.js MODEL.onnx DATA_DIR PROBS.f32 [--ort DIR] [--tol T] [--logits]\n');
  process.exit(2);
}

const args = process.argv.slice(2), pos = [];
let ortDir = process.env.MNIST_ONNXRUNTIME_DIR || '.', tol = 1e-5, logits = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--ort') ortDir = args[++i];
  else if (args[i] === '--tol') tol = Number(args[++i]);
  else if (args[i] === '--logits') logits = true;
  else if (args[i].startsWith('--')) usage(`unknown option ${args[i]}`);
  else pos.push(args[i]);
}
if (pos.length !== 3 || !(tol >= 0)) usage('want MODEL.onnx DATA_DIR PROBS.f32');
const [modelPath, dataDir, probsPath] = pos;

function readIdx(base) {
  for (const [p, gz] of [[base, false], [base + '.gz', true]]) {
    if (!fs.existsSync(p)) continue;
    let b = fs.readFileSync(p);
    if (gz) b = zlib.gunzipSync(b);
    if (b.readUInt16BE(0) !== 0 || b[2] !== 0x08) throw new Error(`${p}: not an unsigned-byte IDX file`);
    const nd = b[3], dims = [];
    for (let k = 0; k < nd; k++) dims.push(b.readUInt32BE(4 + 4 * k));
    return { dims, data: b.subarray(4 + 4 * nd) };
  }
  throw new Error(`${base}: not found (nor .gz)`);
}

async function main() {
  let ort;
  try {
    ort = require(path.resolve(ortDir, 'node_modules', 'onnxruntime-node'));
  } catch (err) {
    process.stderr.write(`onnx_check.js: no onnxruntime-node under ${ortDir}/node_modules (${err.message.split('\n')[0]})\n`);
    process.exit(77);
  }
  const img = readIdx(path.join(dataDir, 't10k-images-idx3-ubyte'));
  const [n, rows, cols] = img.dims, px = rows * cols;
  const pb = fs.readFileSync(probsPath);
  const ours = new Float32Array(pb.buffer.slice(pb.byteOffset, pb.byteOffset + pb.length));
  if (ours.length % n) throw new Error(`${probsPath}: ${ours.length} floats is no multiple of ${n} images`);
  const C = ours.length / n;

  const sess = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'] });
  const scale = Math.fround(1 / 255);
  const batch = 500;
  let same = 0, maxDiff = 0, worst = -1;
  for (let first = 0; first < n; first += batch) {
    const B = Math.min(batch, n - first);
    const x = new Float32Array(B * px);
    for (let i = 0; i < B * px; i++) x[i] = Math.fround(img.data[first * px + i] * scale);
    const feeds = { [sess.inputNames[0]]: new ort.Tensor('float32', x, [B, 1, rows, cols]) };
    const res = await sess.run(feeds);
    const out = res[sess.outputNames[0]];
    if (out.dims.length !== 2 || out.dims[0] !== B || out.dims[1] !== C)
      throw new Error(`output shape ${out.dims} (want ${B} x ${C})`);
    for (let b = 0; b < B; b++) {
      const p = Array.from(out.data.subarray(b * C, (b + 1) * C));
      if (logits) {
        const m = Math.max(...p);
        let s = 0;
        for (let j = 0; j < C; j++) s += (p[j] = Math.exp(p[j] - m));
        for (let j = 0; j < C; j++) p[j] /= s;
      }
      const q = ours.subarray((first + b) * C, (first + b + 1) * C);
      let ap = 0, aq = 0;
      for (let j = 0; j < C; j++) {
        if (p[j] > p[ap]) ap = j;
        if (q[j] > q[aq]) aq = j;
        const d = Math.abs(p[j] - q[j]);
        if (d > maxDiff) maxDiff = d, worst = first + b;
      }
      same += ap === aq;
    }
  }
  const ok = same === n && maxDiff <= tol;
  console.log(`${path.basename(modelPath)}: ${n} images, same predictions: ${same}/${n}, ` +
    `max |prob diff|: ${maxDiff.toExponential(2)}${worst >= 0 ? ` (image ${worst})` : ''}` +
    `${ok ? '' : ` - FAIL (tolerance ${tol})`}`);
  process.exit(ok ? 0 : 1);
}
main().catch((err) => { process.stderr.write(`onnx_check.js: ${err.message}\n`); process.exit(1); });
