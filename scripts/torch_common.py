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
    "rnn": "lstm:64,batchnorm,dense:32,relu,dense:10",
    "gru": "gru:64,batchnorm,dense:32,relu,dense:10",
    "vit": "patches:7:64,transformer:64:4:128,transformer:64:4:128,layernorm,mean,dense:10",
}


# The sequence kinds (src/nn/layers/seq_common.h): an activation of our shape
# (C, H, W) is H steps of C*W features, feature c*W + w of step t being
# element (c, t, w); with `cols` W steps of C*H features. Torch tensors here
# are (N, C, H, W) images, (N, T, F) sequences (our (1, T, F)) or (N, F).
def as_seq(x, cols=False):
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return (x.permute(0, 3, 1, 2) if cols else x.permute(0, 2, 1, 3)).flatten(2)


class SeqLSTM(nn.LSTM):
    """lstm:UNITS[:seq][:cols]: nn.LSTM (batch_first) on the sequence view,
    the last step's hidden state unless seq."""

    def __init__(self, features, units, seq=False, cols=False):
        super().__init__(features, units, batch_first=True)
        self.seq_out, self.cols = seq, cols

    def forward(self, x):
        y, _ = super().forward(as_seq(x, self.cols))
        return y if self.seq_out else y[:, -1]


class SeqGRU(nn.GRU):
    """gru:UNITS[:seq][:cols], as SeqLSTM."""

    def __init__(self, features, units, seq=False, cols=False):
        super().__init__(features, units, batch_first=True)
        self.seq_out, self.cols = seq, cols

    def forward(self, x):
        y, _ = super().forward(as_seq(x, self.cols))
        return y if self.seq_out else y[:, -1]


class SeqMean(nn.Module):
    """mean: the mean over the steps."""

    def forward(self, x):
        return as_seq(x).mean(1) if x.dim() > 2 else x


class Patches(nn.Module):
    """patches:P:D: a PxP conv with stride P to D channels, the patches in
    row-major order as a sequence, plus a learned position embedding."""

    def __init__(self, channels, p, d, steps):
        super().__init__()
        self.proj = nn.Conv2d(channels, d, p, stride=p)
        self.pos = nn.Parameter(torch.zeros(1, steps, d))

    def forward(self, x):
        if x.dim() == 3:
            x = x.unsqueeze(1)
        return self.proj(x).flatten(2).transpose(1, 2) + self.pos


class Block(nn.Module):
    """transformer:D:HEADS:MLP: a pre-norm encoder block, x + attn(ln1(x)),
    then + fc2(gelu(fc1(ln2(.))))."""

    def __init__(self, d, heads, mlp):
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, mlp)
        self.fc2 = nn.Linear(mlp, d)

    def forward(self, x):
        if x.dim() == 4:
            x = x.flatten(1, 2)  # (N, 1, T, D) -> (N, T, D)
        a = self.ln1(x)
        x = x + self.attn(a, a, a, need_weights=False)[0]
        return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))


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
        elif kind == "batchnorm":
            # ours normalises per feature of a flat input, per channel of maps
            layers.append(nn.BatchNorm1d(flat) if flat is not None else nn.BatchNorm2d(c))
        elif kind == "dropout":
            layers.append(nn.Dropout(float(arg)))
        elif kind in ("lstm", "gru"):
            parts = arg.split(":")
            units, seq, cols = int(parts[0]), "seq" in parts[1:], "cols" in parts[1:]
            steps, features = (w, c * h) if cols else (h, c * w)
            layers.append((SeqLSTM if kind == "lstm" else SeqGRU)(features, units, seq, cols))
            c, h, w = (1, steps, units) if seq else (units, 1, 1)
            flat = None if seq else units
        elif kind == "layernorm":
            layers.append(nn.LayerNorm(c if h == 1 and w == 1 else w, eps=1e-5))
        elif kind == "gelu":
            layers.append(nn.GELU())
        elif kind == "mean":
            layers.append(SeqMean())
            c, h, w = c * w, 1, 1
            flat = c
        elif kind == "patches":
            p, d = (int(v) for v in arg.split(":"))
            steps = (h // p) * (w // p)
            layers.append(Patches(c, p, d, steps))
            c, h, w = 1, steps, d
        elif kind == "transformer":
            d, heads, mlp = (int(v) for v in arg.split(":"))
            layers.append(Block(d, heads, mlp))
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
    seq_init(model)
    return model


def seq_init(model):
    """The sequence kinds' initial values as `mnist` gives them (Keras's):
    recurrent input weights Glorot-uniform, recurrent weights orthogonal,
    biases 0 but the LSTM forget gate's input bias 1; patch projections
    Glorot-uniform, positions U(-0.05, 0.05); attention and MLP weights
    Glorot-uniform (Q, K, V each D x D), LayerNorms 1 and 0."""
    for m in model.modules():
        if isinstance(m, (nn.LSTM, nn.GRU)):
            nn.init.xavier_uniform_(m.weight_ih_l0)
            nn.init.orthogonal_(m.weight_hh_l0)
            nn.init.zeros_(m.bias_ih_l0)
            nn.init.zeros_(m.bias_hh_l0)
            if isinstance(m, nn.LSTM):
                with torch.no_grad():
                    m.bias_ih_l0[m.hidden_size:2 * m.hidden_size] = 1.0
        elif isinstance(m, Patches):
            nn.init.xavier_uniform_(m.proj.weight)
            nn.init.zeros_(m.proj.bias)
            nn.init.uniform_(m.pos, -0.05, 0.05)
        elif isinstance(m, Block):
            d = m.ln1.normalized_shape[0]
            with torch.no_grad():
                for k in range(3):
                    nn.init.xavier_uniform_(m.attn.in_proj_weight[k * d:(k + 1) * d])
            nn.init.zeros_(m.attn.in_proj_bias)
            for lin in (m.attn.out_proj, m.fc1, m.fc2):
                nn.init.xavier_uniform_(lin.weight)
                nn.init.zeros_(lin.bias)


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
