#!/usr/bin/env python3
"""Load an `mnist` model file into PyTorch and evaluate it on the test set.

    python3 scripts/torch_eval.py model.bin [DATA_DIR]

Shows that our model files are ordinary PyTorch state dicts: the network is
rebuilt as a torch.nn.Sequential from the architecture in the file's metadata
and loaded with load_state_dict(strict=True). Needs only PyTorch (Debian:
python3-torch); the safetensors package is used when installed, otherwise the
file is read with the standard library (the format is a JSON header + data).
"""
import gzip
import json
import os
import struct
import sys

import torch
from torch import nn


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
        assert t["dtype"] == "F32", t["dtype"]
        b, e = t["data_offsets"]
        state[name] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(t["shape"])
    return state, meta


def pair(text):
    """'3' -> (3, 3), '3x5' -> (3, 5)"""
    a, _, b = text.partition("x")
    return (int(a), int(b or a))


def out_size(n, k, s, p_before, p_after):
    return (n + p_before + p_after - k) // s + 1


def build(arch, input_shape):
    """The torch.nn.Sequential equivalent of an arch string such as
    'flatten,dense:128,relu,dropout:0.2,dense:10' or
    'conv:32:3,relu,maxpool:2,conv:64:3:s2:p1,...' (see include/mnist/layer.h)."""
    c, h, w = input_shape
    flat = None  # features once flattened
    layers = []
    for tok in arch.split(","):
        kind, _, arg = tok.partition(":")
        if kind == "conv":
            parts = arg.split(":")
            filters, (kh, kw) = int(parts[0]), pair(parts[1])
            stride, padding, same = (1, 1), (0, 0), False
            for opt in parts[2:]:
                if opt == "same":
                    same = True
                elif opt == "valid":
                    pass
                elif opt.startswith("s"):
                    stride = pair(opt[1:])
                elif opt.startswith("p"):
                    padding = pair(opt[1:])
            layers.append(nn.Conv2d(c, filters, (kh, kw), stride=stride, padding="same" if same else padding))
            if not same:
                h = out_size(h, kh, stride[0], padding[0], padding[0])
                w = out_size(w, kw, stride[1], padding[1], padding[1])
            c = filters
        elif kind in ("maxpool", "avgpool"):
            parts = arg.split(":")
            k = pair(parts[0])
            s = pair(parts[1][1:]) if len(parts) > 1 else k
            layers.append((nn.MaxPool2d if kind == "maxpool" else nn.AvgPool2d)(k, stride=s))
            h, w = out_size(h, k[0], s[0], 0, 0), out_size(w, k[1], s[1], 0, 0)
        elif kind == "flatten":
            layers.append(nn.Flatten())
            flat = c * h * w
        elif kind == "dense":
            layers.append(nn.Linear(flat, int(arg)))
            flat = int(arg)
        elif kind == "relu":
            layers.append(nn.ReLU())
        elif kind == "sigmoid":
            layers.append(nn.Sigmoid())
        elif kind == "dropout":
            layers.append(nn.Dropout(float(arg)))
        else:
            raise SystemExit(f"torch_eval.py: layer '{kind}' not supported here")
    return nn.Sequential(*layers)


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
    raise SystemExit(f"torch_eval.py: {directory}/{stem}: not found")


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
    x = read_idx(data, "t10k-images-idx3-ubyte").float().div(255.0).reshape(-1, *shape)
    y = read_idx(data, "t10k-labels-idx1-ubyte").long()
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
