"""What scripts/torch_{train,eval,bench}.py share: reading the IDX files, building
a torch.nn.Sequential from an `mnist` arch string, and the training recipe.

Imports torch: torch_bench.py imports this module only after setting
OPENBLAS_NUM_THREADS.
"""
import gzip
import os
import struct
import sys

import torch
from torch import nn

# The named architectures of src/model.c, with the flatten it adds in front.
PRESETS = {
    "mlp": "flatten,dense:128,relu,dropout:0.2,dense:10",
    "wide": "flatten,dense:512,relu,dense:10",
    "cnn": "conv:32:3,relu,maxpool:2,conv:64:3,relu,maxpool:2,flatten,dropout:0.5,dense:10",
}


def read_idx(directory, stem):
    """The IDX file stem (or its '.idx' spelling, raw or .gz) as a uint8 tensor."""
    for name in (stem, stem.replace("-idx", ".idx")):
        for suffix, opener in (("", open), (".gz", gzip.open)):
            p = os.path.join(directory, name + suffix)
            if os.path.exists(p):
                with opener(p, "rb") as f:
                    raw = f.read()
                rank = raw[3]
                dims = struct.unpack(">" + "I" * rank, raw[4:4 + 4 * rank])
                return torch.frombuffer(bytearray(raw[4 + 4 * rank:]), dtype=torch.uint8).reshape(dims)
    raise FileNotFoundError(f"{directory}/{stem}: not found")


def load_split(directory, prefix):
    """(images as x/255 floats, labels as longs) of 'train' or 't10k'."""
    x = read_idx(directory, f"{prefix}-images-idx3-ubyte").float().div(255)
    y = read_idx(directory, f"{prefix}-labels-idx1-ubyte").long()
    return x, y


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
    flat = c * h * w if (h, w) == (1, 1) else None  # features once flattened
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
        elif kind == "tanh":
            layers.append(nn.Tanh())
        elif kind == "batchnorm":
            # ours normalises per feature of a flat input, per channel of maps
            layers.append(nn.BatchNorm1d(flat) if flat is not None else nn.BatchNorm2d(c))
        elif kind == "leakyrelu":
            layers.append(nn.LeakyReLU(float(arg) if arg else 0.01))
        elif kind == "reshape":
            c, h, w = (int(v) for v in arg.split(":"))
            layers.append(nn.Unflatten(1, (c, h, w)))
        elif kind == "upsample":
            layers.append(nn.Upsample(scale_factor=int(arg), mode="nearest"))
            h, w = h * int(arg), w * int(arg)
        elif kind == "convtranspose":
            parts = arg.split(":")
            filters, (kh, kw) = int(parts[0]), pair(parts[1])
            stride, padding = (1, 1), (0, 0)
            for opt in parts[2:]:
                if opt.startswith("s"):
                    stride = pair(opt[1:])
                elif opt.startswith("p"):
                    padding = pair(opt[1:])
            layers.append(nn.ConvTranspose2d(c, filters, (kh, kw), stride=stride, padding=padding))
            h = (h - 1) * stride[0] - 2 * padding[0] + kh
            w = (w - 1) * stride[1] - 2 * padding[1] + kw
            c = filters
        elif kind == "dropout":
            layers.append(nn.Dropout(float(arg)))
        else:
            raise SystemExit(f"{os.path.basename(sys.argv[0])}: layer '{kind}' not supported here")
    return nn.Sequential(*layers)


def build_preset(name):
    """A named architecture on 1x28x28 inputs, initialised as `mnist` does:
    Linear Glorot-uniform (Keras's default), Conv2d He-uniform, zero biases."""
    if name not in PRESETS:
        raise SystemExit(f"unknown arch {name}")
    model = build(PRESETS[name], (1, 28, 28))
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            nn.init.kaiming_uniform_(m.weight, nonlinearity="relu")  # U(-l, l), l = sqrt(6 / fan_in)
            nn.init.zeros_(m.bias)
    return model


def make_optimizer(name, params, lr):
    """Keras's settings: eps 1e-7, RMSprop rho 0.9; anything else is SGD."""
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, eps=1e-7)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    return torch.optim.SGD(params, lr=lr)


def train_step(model, opt, loss_fn, x, y):
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
