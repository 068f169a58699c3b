#!/usr/bin/env python3
"""Any `mnist train` recipe in PyTorch, timed: a reference for a preset's
recipe (pytorch-example, speedrun) and for BatchNorm speed.

    /usr/bin/python3 scripts/torch_recipe.py --arch ARCH [--epochs 5] [--batch-size 32]
        [--optimizer adam|adamw|adadelta|rmsprop|sgd] [--lr X] [--weight-decay X]
        [--momentum X] [--lr-schedule S] [--normalize MEAN:STD] [--validation-split X]
        [--seed N] [--threads N] [--data DIR] [--output FILE]

ARCH is an expanded `mnist` arch string (`mnist summary --arch P` prints a
preset's layers and recipe), built by torch_common.build. As `mnist train`:
Glorot-uniform Linear, He-uniform Conv2d weights, zero biases, BatchNorm
weight 1 / bias 0; Keras's Adam/RMSprop eps 1e-7; PyTorch's Adadelta and
AdamW (eps 1e-7 there too, weight decay 0.01); schedules step:EVERY:GAMMA and
exponential:GAMMA per epoch, cosine and onecycle[:PCT][:linear] per step
(OneCycleLR with cycle_momentum=False, as `mnist` does not cycle it);
x/255 then (x - MEAN) / STD; a randperm shuffle per epoch, the last partial
batch kept; the validation split is the last part, as Keras. Prints seconds
per epoch, the wall time from the script's start to the saved model (the
state dict, torch.save), and the test accuracy. Optional: needs Debian's
python3-torch; the product never uses it.
"""
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from torch_common import build, load_split  # noqa: E402


def optimizer(a, params):
    lr = a.lr if a.lr is not None else {"sgd": 0.01, "adadelta": 1.0}.get(a.optimizer, 0.001)
    if a.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, eps=1e-7)
    if a.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=lr, eps=1e-7, weight_decay=a.weight_decay)
    if a.optimizer == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, rho=0.9, eps=1e-6)
    if a.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    return torch.optim.SGD(params, lr=lr, momentum=a.momentum)


def scheduler(a, opt, steps_per_epoch):
    """(per-step scheduler or None, per-epoch scheduler or None)"""
    s = a.lr_schedule
    if not s or s == "none":
        return None, None
    if s.startswith("step:"):
        _, every, gamma = s.split(":")
        return None, torch.optim.lr_scheduler.StepLR(opt, int(every), float(gamma))
    if s.startswith("exponential:"):
        return None, torch.optim.lr_scheduler.ExponentialLR(opt, float(s.split(":")[1]))
    total = steps_per_epoch * a.epochs
    if s == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.5 * (1 + math.cos(math.pi * t / total))), None
    if s.startswith("onecycle"):
        parts = s.split(":")[1:]
        linear = "linear" in parts
        pct = [float(p) for p in parts if p != "linear"]
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=opt.param_groups[0]["lr"], total_steps=total, pct_start=pct[0] if pct else 0.3,
            anneal_strategy="linear" if linear else "cos", cycle_momentum=False), None
    raise SystemExit(f"torch_recipe.py: schedule {s} not supported")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--optimizer", default="adam")
    ap.add_argument("--lr", type=float)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.0)
    ap.add_argument("--lr-schedule")
    ap.add_argument("--normalize", default="none")
    ap.add_argument("--validation-split", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--data", default=os.environ.get("MNIST_DATA", "data/mnist"))
    ap.add_argument("--output", default="/tmp/torch_recipe.pt")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load_split(a.data, "train")
    xte, yte = load_split(a.data, "t10k")
    xtr, xte = xtr.reshape(-1, 1, 28, 28), xte.reshape(-1, 1, 28, 28)
    if a.normalize != "none":
        mean, std = (float(v) for v in a.normalize.split(":"))
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    n_val = int(len(xtr) * a.validation_split)
    if n_val:
        xva, yva, xtr, ytr = xtr[-n_val:], ytr[-n_val:], xtr[:-n_val], ytr[:-n_val]
    model = build(a.arch, (1, 28, 28))
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    opt = optimizer(a, model.parameters())
    n, B = len(xtr), a.batch_size
    per_step, per_epoch = scheduler(a, opt, (n + B - 1) // B)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for epoch in range(a.epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for i in range(0, n, B):
            idx = perm[i:i + B]
            opt.zero_grad()
            loss_fn(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
            if per_step:
                per_step.step()
        if per_epoch:
            per_epoch.step()
        times.append(time.perf_counter() - t0)
        msg = f"epoch {epoch + 1}: {times[-1]:.3f} s"
        if n_val:
            model.eval()
            with torch.no_grad():
                msg += f" - val_accuracy: {(model(xva).argmax(1) == yva).float().mean().item():.4f}"
        print(msg, flush=True)
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    torch.save(model.state_dict(), a.output)
    wall = time.perf_counter() - T_START
    print(f"torch: {sorted(times)[len(times) // 2]:.3f} s/epoch (median) - wall {wall:.1f} s to the saved model"
          f" - test accuracy: {acc:.4f}")


if __name__ == "__main__":
    main()
