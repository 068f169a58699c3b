#!/usr/bin/env python3
"""The same recipe as `mnist train`, in PyTorch: a reference for accuracy and speed.

    python3 scripts/torch_train.py [--arch mlp|wide|cnn] [--epochs 5] [--batch-size 32]
                                   [--optimizer adam|rmsprop|sgd] [--lr X] [--seed N]
                                   [--threads N] [--data DIR]

Keras defaults as `mnist` uses them: Glorot-uniform weights, zero biases, Adam
(0.9, 0.999, eps 1e-7), RMSprop (rho 0.9, eps 1e-7), inputs x/255, reshuffle
each epoch, last partial batch kept. Prints seconds per epoch and the test
accuracy. Optional: needs Debian's python3-torch; the product never uses it.
"""
import argparse
import gzip
import os
import struct
import time

import torch
from torch import nn


def read_idx(directory, stem):
    for name in (stem, stem.replace("-idx", ".idx")):
        for suffix, opener in (("", open), (".gz", gzip.open)):
            p = os.path.join(directory, name + suffix)
            if os.path.exists(p):
                with opener(p, "rb") as f:
                    raw = f.read()
                rank = raw[3]
                dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
                return torch.frombuffer(bytearray(raw[4 + 4 * rank:]), dtype=torch.uint8).reshape(dims)
    raise SystemExit(f"{directory}/{stem}: not found")


def build(arch):
    if arch == "mlp":
        layers = [nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10)]
    elif arch == "wide":
        layers = [nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10)]
    elif arch == "cnn":
        layers = [nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                  nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10)]
    else:
        raise SystemExit(f"unknown arch {arch}")
    model = nn.Sequential(*layers)
    for m in model.modules():  # Keras initialisation
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return model


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
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    shape = (1, 28, 28) if a.arch == "cnn" else (784,)
    xtr = read_idx(a.data, "train-images-idx3-ubyte").float().div(255).reshape(-1, *shape)
    ytr = read_idx(a.data, "train-labels-idx1-ubyte").long()
    xte = read_idx(a.data, "t10k-images-idx3-ubyte").float().div(255).reshape(-1, *shape)
    yte = read_idx(a.data, "t10k-labels-idx1-ubyte").long()
    model = build(a.arch)
    lr = a.lr or (0.01 if a.optimizer == "sgd" else 0.001)
    if a.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    elif a.optimizer == "rmsprop":
        opt = torch.optim.RMSprop(model.parameters(), lr=lr, alpha=0.9, eps=1e-7)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    n, B = len(xtr), a.batch_size
    times = []
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, B):
            idx = perm[i:i + B]
            opt.zero_grad()
            loss = loss_fn(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
        print(f"epoch {epoch + 1}: {times[-1]:.3f} s", flush=True)
    model.eval()
    with torch.no_grad():
        logits = model(xte)
        acc = (logits.argmax(1) == yte).float().mean().item()
    print(f"torch {a.arch}: {sorted(times)[len(times) // 2]:.3f} s/epoch (median) - test accuracy: {acc:.4f}")


if __name__ == "__main__":
    main()
