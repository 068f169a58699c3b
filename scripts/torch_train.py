#!/usr/bin/env python3
"""The same recipe as `mnist train`, in PyTorch: a reference for accuracy and speed.

    python3 scripts/torch_train.py [--arch mlp|wide|cnn|rnn|gru|vit] [--epochs 5] [--batch-size 32]
                                   [--optimizer adam|rmsprop|sgd] [--lr X] [--seed N]
                                   [--threads N] [--data DIR] [--ema M]

Keras defaults as `mnist` uses them: Glorot-uniform dense weights (He-uniform
for conv, as `mnist` initialises them), zero biases, Adam
(0.9, 0.999, eps 1e-7), RMSprop (rho 0.9, eps 1e-7), inputs x/255, reshuffle
each epoch, last partial batch kept; --ema M keeps a moving average of the
weights and tests it, as `mnist train --ema M` (Keras's use_ema: the first
step's weights, then M*avg + (1-M)*w). Prints seconds per epoch and the test
accuracy. Optional: needs Debian's python3-torch; the product never uses it.
"""
import argparse
import os
import time

import torch
from torch import nn

from torch_common import build_preset, load_split, make_optimizer, train_step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="mlp")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--optimizer", default="adam")
    ap.add_argument("--lr", type=float)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--data", default=os.environ.get("MNIST_DATA", "data/mnist"))
    ap.add_argument("--ema", type=float, default=0.0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    shape = (1, 28, 28)
    try:
        xtr, ytr = load_split(a.data, "train")
        xte, yte = load_split(a.data, "t10k")
    except FileNotFoundError as e:
        raise SystemExit(str(e))
    xtr, xte = xtr.reshape(-1, *shape), xte.reshape(-1, *shape)
    model = build_preset(a.arch)
    lr = a.lr or (0.01 if a.optimizer == "sgd" else 0.001)
    opt = make_optimizer(a.optimizer, model.parameters(), lr)
    loss_fn = nn.CrossEntropyLoss()
    n, B = len(xtr), a.batch_size
    times = []
    avg = [p.detach().clone() for p in model.parameters()] if a.ema else None
    steps = 0
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, B):
            idx = perm[i:i + B]
            train_step(model, opt, loss_fn, xtr[idx], ytr[idx])
            steps += 1
            if avg:
                with torch.no_grad():
                    for p, q in zip(model.parameters(), avg):
                        if steps == 1:
                            q.copy_(p)
                        else:
                            q.mul_(a.ema).add_(p, alpha=1.0 - a.ema)
        times.append(time.perf_counter() - t0)
        print(f"epoch {epoch + 1}: {times[-1]:.3f} s", flush=True)
    if avg:
        with torch.no_grad():
            for p, q in zip(model.parameters(), avg):
                p.copy_(q)
    model.eval()
    with torch.no_grad():
        logits = model(xte)
        acc = (logits.argmax(1) == yte).float().mean().item()
    print(f"torch {a.arch}: {sorted(times)[len(times) // 2]:.3f} s/epoch (median) - test accuracy: {acc:.4f}")


if __name__ == "__main__":
    main()
