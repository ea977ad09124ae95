#!/usr/bin/env python3
"""bench/dcgan_step_torch.py: the PyTorch baseline of bench_dcgan_step.

One training step of the SN-GAN paper's standard CNN ("DCGAN" in the thesis;
models/dcgan.h) on Fashion-MNIST shapes (1 channel, 32x32), CPU, float32,
batch 64, hinge loss, Adam(2e-4, betas (0, 0.999)), spectral norm on every
layer of D (torch.nn.utils.spectral_norm, one power iteration per forward):

  D step: real = uniform [-1, 1] images (reading data is not timed);
          z ~ N(0, I); fake = G(z) under no_grad; out = D(cat(real, fake));
          loss = mean relu(1 - out[:B]) + mean relu(1 + out[B:]);
          zero_grad; backward; Adam step
  G step: z ~ N(0, I); loss = -mean D(G(z)); zero_grad; backward; Adam step

Times `iters` steps after `warmup` untimed ones and prints one JSON line:
{"median_ms", "min_ms", "max_ms", "iters", "threads", "torch",
 "d_step_median_ms", "g_step_median_ms"}.

    python3 bench/dcgan_step_torch.py [--threads N] [--iters N] [--warmup N]
                                      [--batch 64] [--width 64]
"""
import argparse
import json
import time

import torch
import torch.nn as nn
from torch.nn.utils import spectral_norm


def generator(z_dim, width, channels):
    w = width
    return nn.ModuleDict({
        "dense": nn.Linear(z_dim, 4 * 4 * 8 * w),
        "main": nn.Sequential(
            nn.BatchNorm2d(8 * w), nn.ReLU(),
            nn.ConvTranspose2d(8 * w, 4 * w, 4, 2, 1), nn.BatchNorm2d(4 * w), nn.ReLU(),
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1), nn.BatchNorm2d(2 * w), nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1), nn.BatchNorm2d(w), nn.ReLU(),
            nn.Conv2d(w, channels, 3, 1, 1), nn.Tanh()),
    })


def run_g(g, z, width):
    return g["main"](g["dense"](z).view(z.size(0), 8 * width, 4, 4))


def discriminator(width, channels):
    w = width
    spec = [(channels, w, 3, 1), (w, 2 * w, 4, 2), (2 * w, 2 * w, 3, 1), (2 * w, 4 * w, 4, 2),
            (4 * w, 4 * w, 3, 1), (4 * w, 8 * w, 4, 2), (8 * w, 8 * w, 3, 1)]
    layers = []
    for cin, cout, k, s in spec:
        layers += [spectral_norm(nn.Conv2d(cin, cout, k, s, 1)), nn.LeakyReLU(0.1)]
    layers += [nn.Flatten(), spectral_norm(nn.Linear(4 * 4 * 8 * w, 1))]
    return nn.Sequential(*layers)


def median(ts):
    ts = sorted(ts)
    n = len(ts)
    return ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--width", type=int, default=64)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    z_dim, channels, b = 128, 1, a.batch
    g, d = generator(z_dim, a.width, channels), discriminator(a.width, channels)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.0, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.0, 0.999))

    def d_step():
        real = torch.rand(b, channels, 32, 32) * 2 - 1
        z = torch.randn(b, z_dim)
        with torch.no_grad():
            fake = run_g(g, z, a.width)
        out = d(torch.cat([real, fake]))
        loss = torch.relu(1 - out[:b]).mean() + torch.relu(1 + out[b:]).mean()
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()

    def g_step():
        z = torch.randn(b, z_dim)
        loss = -d(run_g(g, z, a.width)).mean()
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        ts = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            fn()
            ts.append(1000 * (time.perf_counter() - t0))
        return ts

    def step():
        d_step()
        g_step()

    ts = timed(step)
    td, tg = timed(d_step), timed(g_step)
    print(json.dumps({"median_ms": median(ts), "min_ms": min(ts), "max_ms": max(ts), "iters": a.iters,
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "d_step_median_ms": median(td), "g_step_median_ms": median(tg)}))


if __name__ == "__main__":
    main()
