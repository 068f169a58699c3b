#!/usr/bin/env python3
"""PyTorch (CPU) on the benchmarks of `mnist bench`: a reference for scripts/bench.sh.

    python3 scripts/torch_bench.py [--threads N] [--data DIR] [--models mlp,wide] [--cnn]
                                   [--cnn-steps S] [--epochs-time E] [--repeat R]
                                   [--gemm-seconds S] [--gemm-only] [--no-gemm]
                                   [--out-of-the-box] [--json]

Training: the recipes of `mnist train` exactly as scripts/torch_train.py runs
them (data read from the IDX files into tensors once, x/255, a torch.randperm
shuffle each epoch, a manual batching loop with no DataLoader, Keras's
initialisation (He-uniform for conv), Adam / RMSprop with eps 1e-7): mlp (adam, lr 1e-3, batch 32),
wide (rmsprop, batch 128), cnn with --cnn (adam, batch 128). mlp and wide time
E full epochs (default 5) and report the median seconds per epoch; cnn times
one epoch, or with --cnn-steps S only S steps after a warm-up step,
extrapolated to an epoch and marked "extrapolated". "startup_s" is the time
from the start of this script to the first step: importing torch, loading
train and t10k, building the model.

GEMM: torch.mm GFLOP/s on the same shapes, names and transposes as
src/cli/cmd_bench.c (a transposed operand is a .t() view, as nn.Linear
passes it to BLAS), with 1 thread and N threads (torch.set_num_threads), by
the method of mn_sgemm_bench_gflops (two warm-up calls, 7 timed repetitions
of enough calls to last S/7 seconds, median), median over R rounds.

Configuration: by default PyTorch's best one on a small machine,
torch.set_num_threads(N) (N = --threads, default all cores) with
OPENBLAS_NUM_THREADS=1 so that OpenBLAS (Debian's torch does its matrix
products through it) does not start threads of its own that fight torch's
OpenMP threads; note this makes torch.mm single-threaded. --out-of-the-box
leaves the environment and torch's thread count alone.

Output: a table, or with --json the JSON object of `mnist bench --json` (one
record per line) with "tool": "torch" and a "config" string.
Optional: needs Debian's python3-torch; the product never uses it.
"""
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

RECIPES = {  # name: (architecture, optimizer, batch size, recipe string)
    "mlp": ("mlp", "adam", 32, "adam lr 0.001 batch 32"),
    "wide": ("wide", "rmsprop", 128, "rmsprop lr 0.001 batch 128"),
    "cnn": ("cnn", "adam", 128, "adam lr 0.001 batch 128"),
}


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch reference timings for scripts/bench.sh")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--data", default=os.environ.get("MNIST_DATA", "data/mnist"))
    ap.add_argument("--models", default="mlp,wide", help="comma-separated from mlp, wide, cnn")
    ap.add_argument("--cnn", action="store_true", help="add cnn to --models")
    ap.add_argument("--cnn-steps", type=int, default=0, help="time only S steps of cnn and extrapolate")
    ap.add_argument("--epochs-time", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="GEMM rounds; the median is shown")
    ap.add_argument("--gemm-seconds", type=float, default=0.1)
    ap.add_argument("--gemm-only", action="store_true")
    ap.add_argument("--no-gemm", action="store_true")
    ap.add_argument("--out-of-the-box", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    models = [m for m in a.models.split(",") if m]
    if a.cnn and "cnn" not in models:
        models.append("cnn")
    for m in models:
        if m not in RECIPES:
            ap.error(f"--models takes a list of mlp, wide, cnn, not '{a.models}'")
    if a.threads < 1 or a.epochs_time < 1 or a.repeat < 1 or a.cnn_steps < 0 or not a.gemm_seconds > 0:
        ap.error("--threads, --epochs-time, --repeat must be >= 1, --cnn-steps >= 0, --gemm-seconds > 0")
    a.models = models
    return a


ARGS = parse_args()
if not ARGS.out_of_the_box:
    os.environ["OPENBLAS_NUM_THREADS"] = "1"  # must precede loading OpenBLAS, i.e. importing torch

import torch  # noqa: E402
from torch import nn  # noqa: E402

from torch_common import build_preset, load_split, make_optimizer, train_step  # noqa: E402


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def bench_train(name, data, startup_before, a):
    arch, optimizer, B, recipe = RECIPES[name]
    t0 = time.perf_counter()
    torch.manual_seed(1)
    x, y = data["cnn" if arch == "cnn" else "flat"], data["labels"]
    model = build_preset(arch)
    opt = make_optimizer(optimizer, model.parameters(), 0.001)
    loss_fn = nn.CrossEntropyLoss()
    n = len(x)
    steps = (n + B - 1) // B
    startup = startup_before + time.perf_counter() - t0
    partial = arch == "cnn" and 0 < a.cnn_steps and a.cnn_steps + 1 < steps
    epochs = 1 if arch == "cnn" else a.epochs_time
    times = []
    model.train()
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        t_first = None
        for s, i in enumerate(range(0, n, B)):
            idx = perm[i:i + B]
            train_step(model, opt, loss_fn, x[idx], y[idx])
            if partial:
                if s == 0:
                    t_first = time.perf_counter()
                elif s == a.cnn_steps:
                    break
        if partial:
            times.append((time.perf_counter() - t_first) / a.cnn_steps * steps)
        else:
            times.append(time.perf_counter() - t0)
    spe = median(times)
    return {"model": name, "recipe": recipe, "batch": B, "steps": steps, "epochs": 0 if partial else epochs,
            "extrapolated": partial, "timed_steps": a.cnn_steps if partial else epochs * steps,
            "sec_per_epoch": round(spe, 4), "images_per_s": round(n / spe), "startup_s": round(startup, 4),
            "epoch_s": [round(t, 4) for t in times]}


def gemm_shapes():
    """Keep in step with gemm_shapes() in src/cli/cmd_bench.c: (name, transA, transB, M, N, K)."""
    shapes = []
    for m, B, U in (("mlp", 32, 128), ("wide", 128, 512)):
        shapes += [(f"{m} dense1 fwd", 0, 1, B, U, 784), (f"{m} dense1 dW", 1, 0, U, 784, B),
                   (f"{m} dense2 fwd", 0, 1, B, 10, U), (f"{m} dense2 dW", 1, 0, 10, U, B),
                   (f"{m} dense2 dX", 0, 0, B, U, 10)]
    d = 256
    while d <= 2048:
        shapes.append((f"square {d}", 0, 0, d, d, d))
        d *= 2
    return shapes


def bench_mm(shape, threads, seconds, reps=7):
    _, ta, tb, M, N, K = shape
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(12345)
    A = (torch.rand(K, M, generator=g) - 0.5).t() if ta else torch.rand(M, K, generator=g) - 0.5
    Bm = (torch.rand(N, K, generator=g) - 0.5).t() if tb else torch.rand(K, N, generator=g) - 0.5
    C = torch.empty(M, N)
    t0 = time.perf_counter()
    torch.mm(A, Bm, out=C)
    one = time.perf_counter() - t0
    t0 = time.perf_counter()
    torch.mm(A, Bm, out=C)
    one = max(min(one, time.perf_counter() - t0), 1e-9)
    calls = max(1, int(seconds / reps / one))
    g = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(calls):
            torch.mm(A, Bm, out=C)
        dt = max(time.perf_counter() - t0, 1e-12)
        g.append(2.0 * M * N * K * calls / dt * 1e-9)
    return median(g)


def main():
    a = ARGS
    if not a.out_of_the_box:
        torch.set_num_threads(a.threads)
    nthreads = torch.get_num_threads()
    config = (f"out of the box ({nthreads} threads)" if a.out_of_the_box else
              f"torch.set_num_threads({a.threads}), OPENBLAS_NUM_THREADS=1")
    config += f", torch {torch.__version__}"

    train, note = [], ""
    if not a.gemm_only and a.models:
        try:
            xtr, ytr = load_split(a.data, "train")
            load_split(a.data, "t10k")
        except (FileNotFoundError, OSError, ValueError, IndexError, RuntimeError) as e:
            note = str(e)
        else:
            data = {"flat": xtr.reshape(-1, 784), "cnn": xtr.reshape(-1, 1, 28, 28), "labels": ytr}
            loaded = time.perf_counter() - T_START
            for m in a.models:
                train.append(bench_train(m, data, loaded, a))

    shapes = [] if a.no_gemm else gemm_shapes()
    r1 = {s[0]: [] for s in shapes}
    rn = {s[0]: [] for s in shapes}
    for _ in range(a.repeat if shapes else 0):
        for s in shapes:
            r1[s[0]].append(bench_mm(s, 1, a.gemm_seconds))
            rn[s[0]].append(bench_mm(s, nthreads, a.gemm_seconds))
    torch.set_num_threads(nthreads)
    ops = ["NN", "NT", "TN", "TT"]
    gemm = [{"name": s[0], "op": ops[2 * s[1] + s[2]], "M": s[3], "N": s[4], "K": s[5],
             "gflops_1t": round(median(r1[s[0]]), 3), "gflops_nt": round(median(rn[s[0]]), 3)} for s in shapes]

    if a.json:
        out = sys.stdout
        out.write(f'{{"tool": "torch", "config": {json.dumps(config)}, "threads": {nthreads}, '
                  f'"repeat": {a.repeat},\n "gemm": [\n')
        out.write(",\n".join("  " + json.dumps(g) for g in gemm))
        out.write(f'\n ],\n "train_note": {json.dumps(note)},\n "train": [\n')
        out.write(",\n".join("  " + json.dumps(t) for t in train))
        out.write("\n ]}\n")
        return
    print(f"PyTorch ({config})")
    if gemm:
        print(f"torch.mm, GFLOP/s (median of {a.repeat})")
        print(f"{'shape':16} {'op':2} {'M':>5} {'N':>5} {'K':>5} {'1 thread':>10} {f'{nthreads} thread' + ('s' if nthreads != 1 else ''):>10}")
        for g in gemm:
            print(f"{g['name']:16} {g['op']:2} {g['M']:5} {g['N']:5} {g['K']:5} "
                  f"{g['gflops_1t']:10.1f} {g['gflops_nt']:10.1f}")
    if not a.gemm_only:
        print(f"\nTraining, real data, {nthreads} thread{'s' if nthreads != 1 else ''}")
        if note:
            print(f"skipped: {note}")
        else:
            print(f"{'model':5} {'recipe':26} {'epochs':>6} {'s/epoch':>10} {'images/s':>10} {'startup s':>10}")
            for t in train:
                ep = f"{a.cnn_steps} st" if t["extrapolated"] else str(t["epochs"])
                print(f"{t['model']:5} {t['recipe']:26} {ep:>6} {t['sec_per_epoch']:10.3f} "
                      f"{t['images_per_s']:10.0f} {t['startup_s']:10.3f}"
                      + ("  (extrapolated from a partial epoch)" if t["extrapolated"] else ""))


if __name__ == "__main__":
    main()
