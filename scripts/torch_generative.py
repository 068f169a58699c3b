#!/usr/bin/env python3
"""The same generative model as an `mnist autoencode --variational` or
`mnist gan` model file, trained from scratch in PyTorch with the same recipe:
a reference for speed (seconds per epoch) and, for the VAE, the test loss.

    /usr/bin/python3 scripts/torch_generative.py MODEL.bin [--epochs 1]
        [--batch-size 128] [--lr 0.001] [--threads 2] [--data DIR]

The networks are rebuilt from the file's metadata (encoder.arch and
decoder.arch, or generator.arch and discriminator.arch), so they are exactly
ours: VAE loss per image = binary cross-entropy summed over pixels + KL, Adam;
GAN: Adam (beta1 0.5) for both, a discriminator step on a real and a
generated batch, then a generator step (non-saturating loss). Optional: needs
Debian's python3-torch; the product never uses it.
"""
import argparse
import json
import os
import struct
import time

import torch
from torch import nn
import torch.nn.functional as F

from torch_common import build, load_split


def metadata(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


def shape_of(meta, prefix):
    return tuple(int(v) for v in meta[prefix + ".input_shape"].split(","))


def vae(meta, a, xtr, xte):
    L = int(meta["latent"])
    enc = build(meta["encoder.arch"], shape_of(meta, "encoder"))
    dec = build(meta["decoder.arch"], shape_of(meta, "decoder"))
    opt = torch.optim.Adam(list(enc.parameters()) + list(dec.parameters()), lr=a.lr, eps=1e-7)
    ishape = shape_of(meta, "encoder")

    def loss_of(x):
        h = enc(x.reshape(len(x), -1) if ishape[1:] == (1, 1) else x.reshape(-1, *ishape))
        mu, lv = h[:, :L], h[:, L:]
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        y = dec(z).reshape(len(x), -1)
        rec = F.binary_cross_entropy_with_logits(y, x.reshape(len(x), -1), reduction="sum")
        kl = -0.5 * torch.sum(1 + lv - mu * mu - torch.exp(lv))
        return rec + kl

    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), a.batch_size):
            x = xtr[perm[i:i + a.batch_size]]
            loss = loss_of(x) / len(x)
            opt.zero_grad()
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        with torch.no_grad():
            total = sum(float(loss_of(xte[i:i + 1000])) for i in range(0, len(xte), 1000))
        print(f"pytorch vae epoch {epoch + 1}: {dt:.2f} s - val_loss: {total / len(xte):.2f}")


def gan(meta, a, xtr, ytr):
    L, K = int(meta["latent"]), int(meta.get("conditional_classes", "0"))
    g = build(meta["generator.arch"], shape_of(meta, "generator"))
    dshape = shape_of(meta, "discriminator")
    d = build(meta["discriminator.arch"], dshape)
    og = torch.optim.Adam(g.parameters(), lr=a.lr, betas=(0.5, 0.999), eps=1e-7)
    od = torch.optim.Adam(d.parameters(), lr=a.lr, betas=(0.5, 0.999), eps=1e-7)
    flat = dshape[1:] == (1, 1)

    def d_in(img, y):
        if not K:
            return img.reshape(len(img), -1) if flat else img.reshape(len(img), *dshape)
        onehot = F.one_hot(y, K).float()
        if flat:
            return torch.cat([img.reshape(len(img), -1), onehot], 1)
        maps = onehot[:, :, None, None].expand(-1, -1, dshape[1], dshape[2])
        return torch.cat([img.reshape(len(img), 1, dshape[1], dshape[2]), maps], 1)

    def g_in(z, y):
        return torch.cat([z, F.one_hot(y, K).float()], 1) if K else z

    B = a.batch_size
    for epoch in range(a.epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr) - B + 1, B):
            idx = perm[i:i + B]
            x, y = xtr[idx] * 2 - 1, ytr[idx]
            fake = g(g_in(torch.randn(B, L), y))
            logits = d(torch.cat([d_in(x, y), d_in(fake.detach(), y)]))
            target = torch.cat([torch.ones(B, 1), torch.zeros(B, 1)])
            dl = F.binary_cross_entropy_with_logits(logits, target)
            od.zero_grad()
            dl.backward()
            od.step()
            fake = g(g_in(torch.randn(B, L), y))
            gl = F.binary_cross_entropy_with_logits(d(d_in(fake, y)), torch.ones(B, 1))
            og.zero_grad()
            gl.backward()
            og.step()
        print(f"pytorch gan epoch {epoch + 1}: {time.perf_counter() - t0:.2f} s - d_loss: {float(dl):.4f} - g_loss: {float(gl):.4f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data", default=os.environ.get("MNIST_DATA", "data/mnist"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    meta = metadata(a.model)
    xtr, ytr = load_split(a.data, "train")
    xte, _ = load_split(a.data, "t10k")
    xtr, xte = xtr.reshape(len(xtr), -1), xte.reshape(len(xte), -1)
    if meta.get("kind") == "vae":
        vae(meta, a, xtr, xte)
    elif meta.get("kind") == "gan":
        gan(meta, a, xtr, ytr.long())
    else:
        raise SystemExit(f"{a.model}: not a VAE or GAN model file from mnist")


if __name__ == "__main__":
    main()
