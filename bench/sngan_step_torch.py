#!/usr/bin/env python3
"""bench/sngan_step_torch.py: the PyTorch baseline of bench_sngan_step.

One SN-GAN training iteration (32x32 CIFAR-10 layout, unconditional), the
same architecture as nova's models/sngan.h (the modules of
tests/reference/make_gan_model_refs.py, whose state_dict keys are nova's),
float32, on cuda (default) or the CPU. Settings (THESIS-NOTES.md): hinge
loss, Adam(2e-4, betas (0, 0.999)) for G and D, spectral norm on every layer
of D (torch.nn.utils.spectral_norm, one power iteration per training
forward), batch G/D 128/64, n_dis 3:

  n_dis x D step: real = uniform [-1, 1] images (reading data is not timed);
                  z ~ N(0, I); fake = G(z) under no_grad; out = D(cat(real, fake));
                  loss = mean relu(1 - out[:B]) + mean relu(1 + out[B:]);
                  zero_grad; backward; Adam step
  1 x G step:     z ~ N(0, I) [g_batch]; loss = -mean D(G(z)); zero_grad;
                  backward; Adam step

The aw iteration replaces each D step by the authors' aw D step (two
backward passes with retain_graph, flattened gradients, their three inner
products, the weighted sum into .grad, Adam; weights 1, 1: Algorithm 1's case
logic is a few scalar comparisons).

The modules keep PyTorch's default init (nova's is xavier_uniform): the
weights' values do not change the time of a step.

float32 like nova: TF32 off for cuDNN and matmuls; cudnn.benchmark left off
(nova takes cuDNN's heuristic first algorithm). Each timed iteration ends
with torch.cuda.synchronize() (bench_sngan_step synchronizes nova's device
the same way). Prints one JSON line:
{"median_ms", "min_ms", "max_ms", "iters", "torch", "device",
 "d_step_median_ms", "g_step_median_ms", "aw_median_ms", "aw_min_ms", "aw_max_ms"}

    python3 bench/sngan_step_torch.py [--device cuda|cpu] [--threads N] [--iters N]
        [--warmup N] [--g-batch 128] [--d-batch 64] [--n-dis 3] [--g-width 256] [--d-width 128]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from make_gan_model_refs import SnganD, SnganG  # noqa: E402  (nova's architecture, nova's names)


def median(ts):
    ts = sorted(ts)
    n = len(ts)
    return ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--g-batch", type=int, default=128)
    ap.add_argument("--d-batch", type=int, default=64)
    ap.add_argument("--n-dis", type=int, default=3)
    ap.add_argument("--g-width", type=int, default=256)
    ap.add_argument("--d-width", type=int, default=128)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = False
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    torch.manual_seed(0)
    z_dim, channels, nd, ng = 128, 3, a.d_batch, a.g_batch

    def make():
        g = SnganG(32, channels, z_dim, 0, w=a.g_width).to(dev)
        d = SnganD(32, channels, 0, w=a.d_width).to(dev)
        opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.0, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.0, 0.999))
        return g, d, opt_g, opt_d

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def batch(g):
        real = torch.rand(nd, channels, 32, 32, device=dev) * 2 - 1
        with torch.no_grad():
            fake = g(torch.randn(nd, z_dim, device=dev))
        return real, fake

    def d_step(g, d, opt_d):
        real, fake = batch(g)
        out = d(torch.cat([real, fake]))
        loss = torch.relu(1 - out[:nd]).mean() + torch.relu(1 + out[nd:]).mean()
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()

    def aw_d_step(g, d, opt_d):
        real, fake = batch(g)
        out = d(torch.cat([real, fake]))
        d_real, d_fake = out[:nd], out[nd:]
        loss_r = torch.relu(1 - d_real).mean()
        loss_f = torch.relu(1 + d_fake).mean()
        s_r = torch.sigmoid(d_real).mean().item()
        s_f = torch.sigmoid(d_fake).mean().item()
        params = list(d.parameters())
        g_r = torch.cat([x.flatten() for x in torch.autograd.grad(loss_r, params, retain_graph=True)])
        g_f = torch.cat([x.flatten() for x in torch.autograd.grad(loss_f, params)])
        rr, ff, rf = (g_r @ g_r).item(), (g_f @ g_f).item(), (g_r @ g_f).item()
        del s_r, s_f, rr, ff, rf  # Algorithm 1 picks w_r, w_f from these; 1, 1 cost the same
        update = g_r + g_f
        offset = 0
        for p in params:
            p.grad = update[offset: offset + p.numel()].view_as(p).clone()
            offset += p.numel()
        opt_d.step()

    def g_step(g, d, opt_g):
        loss = -d(g(torch.randn(ng, z_dim, device=dev))).mean()
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        sync()
        ts = []
        for _ in range(a.iters):
            t0 = time.perf_counter()
            fn()
            sync()
            ts.append(1000 * (time.perf_counter() - t0))
        return ts

    g, d, opt_g, opt_d = make()

    def iteration():
        for _ in range(a.n_dis):
            d_step(g, d, opt_d)
        g_step(g, d, opt_g)

    ts = timed(iteration)
    td = timed(lambda: d_step(g, d, opt_d))
    tg = timed(lambda: g_step(g, d, opt_g))
    ga, da, opt_ga, opt_da = make()

    def aw_iteration():
        for _ in range(a.n_dis):
            aw_d_step(ga, da, opt_da)
        g_step(ga, da, opt_ga)

    ta = timed(aw_iteration)
    name = torch.cuda.get_device_name(0) if cuda else "cpu"
    print(json.dumps({"median_ms": median(ts), "min_ms": min(ts), "max_ms": max(ts), "iters": len(ts),
                      "torch": torch.__version__, "device": name, "threads": torch.get_num_threads(),
                      "d_step_median_ms": median(td), "g_step_median_ms": median(tg),
                      "aw_median_ms": median(ta), "aw_min_ms": min(ta), "aw_max_ms": max(ta)}))


if __name__ == "__main__":
    main()
