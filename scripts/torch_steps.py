#!/usr/bin/env python3
"""Milliseconds per training step (forward, backward, Adam) of a preset in
PyTorch on 1x28x28 inputs: the PyTorch side of scripts/seq_bench.sh
(scripts/steps_time.c is ours). The model is scripts/torch_common.py's
build_preset, the same layers, tensors and initial values as `mnist`.

    /usr/bin/python3 scripts/torch_steps.py ARCH [BATCH=32] [STEPS=100] [THREADS=2]

Prints the median over 5 runs of STEPS steps (after 3 warm-up steps).
OPENBLAS_NUM_THREADS=1 as scripts/torch_bench.py sets it; torch's own
threads are THREADS.
"""
import os
import sys
import time

os.environ["OPENBLAS_NUM_THREADS"] = "1"
import torch  # noqa: E402
from torch import nn  # noqa: E402

from torch_common import build_preset, make_optimizer, train_step  # noqa: E402


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    arch = sys.argv[1]
    B, S, nt = (int(v) for v in (sys.argv[2:] + ["32", "100", "2"][len(sys.argv) - 2:])[:3])
    torch.set_num_threads(nt)
    torch.manual_seed(1)
    model = build_preset(arch)
    model.train()
    opt = make_optimizer("adam", model.parameters(), 0.001)
    loss_fn = nn.CrossEntropyLoss()
    x, y = torch.rand(B, 1, 28, 28), torch.randint(0, 10, (B,))
    for _ in range(3):
        train_step(model, opt, loss_fn, x, y)
    t = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(S):
            train_step(model, opt, loss_fn, x, y)
        t.append((time.perf_counter() - t0) / S * 1e3)
    print(f"{sorted(t)[2]:.4f}")


if __name__ == "__main__":
    main()
