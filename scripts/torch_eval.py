#!/usr/bin/env python3
"""Load an `mnist` model file into PyTorch and evaluate it on the test set.

    python3 scripts/torch_eval.py model.bin [DATA_DIR]

Shows that our model files are ordinary PyTorch state dicts: the network is
rebuilt as a torch.nn.Sequential from the architecture in the file's metadata
and loaded with load_state_dict(strict=True). Needs only PyTorch (Debian:
python3-torch); the safetensors package is used when installed, otherwise the
file is read with the standard library (the format is a JSON header + data).
"""
import json
import os
import struct
import sys

import torch
from torch import nn

from torch_common import build, load_split


def read_safetensors(path):
    """Returns (state_dict, metadata)."""
    try:
        from safetensors import safe_open  # optional
        from safetensors.torch import load_file
        with safe_open(path, framework="pt") as f:
            meta = f.metadata()
        return load_file(path), meta
    except ImportError:
        pass
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    state = {}
    for name, t in header.items():
        dtype = {"F32": torch.float32, "I64": torch.int64}[t["dtype"]]  # I64: num_batches_tracked
        b, e = t["data_offsets"]
        state[name] = torch.frombuffer(bytearray(data[b:e]), dtype=dtype).reshape(t["shape"])
    return state, meta


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    path = sys.argv[1]
    data = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("MNIST_DATA", "data/mnist")
    state, meta = read_safetensors(path)
    shape = tuple(int(x) for x in meta["input_shape"].split(","))
    model = build(meta["arch"], shape)
    model.load_state_dict(state, strict=True)
    model.eval()
    try:
        x, y = load_split(data, "t10k")
    except FileNotFoundError as e:
        raise SystemExit(f"torch_eval.py: {e}")
    x = x.reshape(-1, *shape)
    if "input_std" in meta:  # mnist train --normalize: transforms.Normalize(mean, std)
        x = (x - float(meta["input_mean"])) / float(meta["input_std"])
    with torch.no_grad():
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y).item()
        acc = (logits.argmax(1) == y).float().mean().item()
    print(model)
    print(f"pytorch: loss: {loss:.4f} - accuracy: {acc:.4f}")
    if "test_accuracy" in meta:
        print(f"mnist's own figure at save time: accuracy: {meta['test_accuracy']}")


if __name__ == "__main__":
    main()
