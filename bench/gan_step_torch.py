#!/usr/bin/env python3
"""bench/gan_step_torch.py: the PyTorch baseline of bench_gan_step.

The same 8-Gaussian GAN training step as bench/bench_gan_step.cpp, on the
CPU (default) or cuda:0 (--device cuda) in float32, with PyTorch's usual
idioms (THESIS-NOTES.md set-up: batch 512, z 256, G and D two hidden layers
of 128 tanh units, orthogonal init with gain 1.4, Adam beta1 0.5, D lr 1e-4,
G lr 1e-3):

  D step: real = mixture sample; z ~ N(0, I); fake = G(z) under no_grad;
          out = D(cat(real, fake)); loss = BCE(out[:B], 1) + BCE(out[B:], 0);
          zero_grad; backward; Adam step
  G step: z ~ N(0, I); loss = -mean softplus(D(G(z))) (the minimax loss the
          trainer uses: G maximises D's BCE on the fakes); zero_grad;
          backward (D's .grad fills too, as in the toy; the next D step's
          zero_grad clears it); Adam step

Also the aw D step as the authors' code computes it (two backward passes;
see aw_d_step), and the step with G's gradients only (trainer_step: what
examples/gan_8gaussians does, torch.autograd.grad over G's parameters). Times `iters` whole steps after `warmup` untimed ones
(time.perf_counter) and prints one JSON line:
{"median_ms", "min_ms", "max_ms", "iters", "threads", "torch", "device", ...}
With --profile it also times each phase of the step separately (the same
phases bench_gan_step --profile reports for nova) and a few single ops at
the step's shapes and the whole step at batch 1 (framework overhead), under
"phases", "ops" and "overhead" ({"median_ms", "min_ms"} each); CPU only.

With --device cuda: G, D, their optimizers, z and the labels on cuda:0; the
real points are drawn on the host and copied to the device (as nova's
trainer and bench_gan_step do); TF32 off for matmuls and cuDNN; each timed
call ends with torch.cuda.synchronize() inside its time (bench_gan_step
synchronizes nova's device the same way); "device" is the GPU's name.

    python3 bench/gan_step_torch.py [--device cpu|cuda] [--threads N] [--iters N]
                                    [--warmup N] [--batch 512] [--profile]
"""
import argparse
import json
import math
import platform
import time

import torch
import torch.nn as nn


def mlp(in_dim, out_dim, hidden=128, layers=2, gain=1.4):
    mods, width = [], in_dim
    for _ in range(layers):
        mods += [nn.Linear(width, hidden), nn.Tanh()]
        width = hidden
    mods.append(nn.Linear(width, out_dim))
    net = nn.Sequential(*mods)
    for p in net.parameters():
        if p.dim() == 2:
            nn.init.orthogonal_(p, gain=gain)
        else:
            nn.init.zeros_(p)
    return net


def median(ts):
    ts = sorted(ts)
    n = len(ts)
    return ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])


def no_sync():
    pass


def time_fn(fn, warmup, iters, sync=no_sync):
    """sync: torch.cuda.synchronize on CUDA (the device's time, not the
    launches'), nothing on the CPU."""
    for _ in range(warmup):
        fn()
    sync()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        ts.append((time.perf_counter() - t0) * 1e3)
    return ts


class Setup:
    def __init__(self, batch, z_dim=256, modes=8, std=0.01, device=torch.device("cpu")):
        torch.manual_seed(0)
        self.batch, self.z_dim, self.std, self.device = batch, z_dim, std, device
        self.G = mlp(z_dim, 2).to(device)
        self.D = mlp(2, 1).to(device)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=1e-3, betas=(0.5, 0.999), eps=1e-8)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=1e-4, betas=(0.5, 0.999), eps=1e-8)
        angles = torch.arange(modes, dtype=torch.float32) * (2 * math.pi / modes)
        self.centres = torch.stack([angles.cos(), angles.sin()], 1)
        self.bce = nn.BCEWithLogitsLoss()
        self.ones = torch.ones(batch, 1, device=device)
        self.zeros = torch.zeros(batch, 1, device=device)

    def sample_real(self):
        """Drawn on the host, copied to the device (nothing on the CPU)."""
        modes = torch.randint(0, self.centres.size(0), (self.batch,))
        return (self.centres[modes] + self.std * torch.randn(self.batch, 2)).to(self.device)

    def noise(self):
        return torch.randn(self.batch, self.z_dim, device=self.device)

    def d_step(self):
        real = self.sample_real()
        z = self.noise()
        with torch.no_grad():
            fake = self.G(z)
        out = self.D(torch.cat([real, fake]))
        loss = self.bce(out[: self.batch], self.ones) + self.bce(out[self.batch:], self.zeros)
        self.opt_d.zero_grad()
        loss.backward()
        self.opt_d.step()

    def g_step(self):
        z = self.noise()
        loss = -torch.nn.functional.softplus(self.D(self.G(z))).mean()
        self.opt_g.zero_grad()
        loss.backward()
        self.opt_g.step()

    def step(self):
        self.d_step()
        self.g_step()

    def g_step_g_grads_only(self):
        """The G step without D's weight gradients (torch.autograd.grad over
        G's parameters): the work examples/gan_8gaussians's G step does
        (optim::backward_into), for the like-for-like trainer row."""
        z = self.noise()
        loss = -torch.nn.functional.softplus(self.D(self.G(z))).mean()
        params = list(self.G.parameters())
        for p, g in zip(params, torch.autograd.grad(loss, params)):
            p.grad = g
        self.opt_g.step()

    def trainer_step(self):
        self.d_step()
        self.g_step_g_grads_only()

    def aw_d_step(self):
        """The aw D step as the authors' code computes it: two backward passes
        (retain_graph), flattened gradients, their three inner products, the
        weighted sum written into .grad, an Adam step. The case logic (a few
        scalar comparisons of s_r, s_f and the inner products) is left out:
        weights 1, 1 cost the same as any others."""
        real = self.sample_real()
        z = self.noise()
        with torch.no_grad():
            fake = self.G(z)
        out = self.D(torch.cat([real, fake]))
        d_real, d_fake = out[: self.batch], out[self.batch:]
        loss_r = self.bce(d_real, self.ones)
        loss_f = self.bce(d_fake, self.zeros)
        s_r = torch.sigmoid(d_real).mean().item()
        s_f = torch.sigmoid(d_fake).mean().item()
        params = list(self.D.parameters())
        g_r = torch.cat([g.flatten() for g in torch.autograd.grad(loss_r, params, retain_graph=True)])
        g_f = torch.cat([g.flatten() for g in torch.autograd.grad(loss_f, params)])
        rr, ff, rf = (g_r @ g_r).item(), (g_f @ g_f).item(), (g_r @ g_f).item()
        w_r, w_f = 1.0, 1.0  # Algorithm 1 would pick them from s_r, s_f, rr, ff, rf
        update = w_r * g_r + w_f * g_f
        offset = 0
        for p in params:
            p.grad = update[offset: offset + p.numel()].view_as(p).clone()
            offset += p.numel()
        self.opt_d.step()

    def profile(self, warmup, iters):
        """Median and min ms of each phase, timed inside real steps (same split
        as nova's --profile; zero_grad counts in the backward phase, teardown is
        releasing the step's tensors)."""
        names = ["d_sample", "d_forward_g_nograd", "d_forward_d_loss", "d_backward", "d_optimizer", "d_teardown",
                 "g_sample", "g_forward_g", "g_forward_d_loss", "g_backward", "g_optimizer", "g_teardown"]
        ts = {n: [] for n in names}
        B = self.batch
        for i in range(warmup + iters):
            t = [time.perf_counter()]
            real = self.sample_real()
            z = torch.randn(B, self.z_dim)
            t.append(time.perf_counter())
            with torch.no_grad():
                fake = self.G(z)
            t.append(time.perf_counter())
            out = self.D(torch.cat([real, fake]))
            loss = self.bce(out[:B], self.ones) + self.bce(out[B:], self.zeros)
            t.append(time.perf_counter())
            self.opt_d.zero_grad()
            loss.backward()
            t.append(time.perf_counter())
            self.opt_d.step()
            t.append(time.perf_counter())
            del real, z, fake, out, loss
            t.append(time.perf_counter())
            z = torch.randn(B, self.z_dim)
            t.append(time.perf_counter())
            x = self.G(z)
            t.append(time.perf_counter())
            loss = -torch.nn.functional.softplus(self.D(x)).mean()
            t.append(time.perf_counter())
            self.opt_g.zero_grad()
            loss.backward()
            t.append(time.perf_counter())
            self.opt_g.step()
            t.append(time.perf_counter())
            del z, x, loss
            t.append(time.perf_counter())
            if i >= warmup:
                for k, n in enumerate(names):
                    ts[n].append((t[k + 1] - t[k]) * 1e3)
        return {n: {"median_ms": median(v), "min_ms": min(v)} for n, v in ts.items()}


def op_profile(batch, z_dim, warmup, iters):
    """Median and min ms of single ops at the shapes of the step (forward and the GEMMs of backward)."""
    B2 = 2 * batch
    x2 = torch.randn(B2, 2)
    h = torch.randn(B2, 128)
    hg = torch.randn(batch, 128)
    z = torch.randn(batch, z_dim)
    w1 = torch.randn(128, 2)
    w = torch.randn(128, 128)
    wz = torch.randn(128, z_dim)
    b = torch.randn(128)
    dy = torch.randn(B2, 128)
    dyg = torch.randn(batch, 128)
    ops = {
        "linear 1024x2 -> 128 (D layer 1)": lambda: torch.nn.functional.linear(x2, w1, b),
        "linear 1024x128 -> 128 (D layer 2)": lambda: torch.nn.functional.linear(h, w, b),
        "linear 512x256 -> 128 (G layer 1)": lambda: torch.nn.functional.linear(z, wz, b),
        "linear 512x128 -> 128 (G layer 2)": lambda: torch.nn.functional.linear(hg, w, b),
        "dW = dY^T X 1024x128x128": lambda: dy.t().mm(h),
        "dW = dY^T X 512x128x256": lambda: dyg.t().mm(z),
        "dX = dY W 1024x128x128": lambda: dy.mm(w),
        "tanh 1024x128": lambda: torch.tanh(h),
        "tanh backward 1024x128": lambda: dy * (1 - h * h),
        "randn 512x256": lambda: torch.randn(batch, z_dim),
    }
    out = {}
    with torch.no_grad():
        for name, fn in ops.items():
            ts = time_fn(fn, warmup, iters)
            out[name] = {"median_ms": median(ts), "min_ms": min(ts)}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--profile", action="store_true", help="CPU only")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    a = ap.parse_args()
    cuda = a.device == "cuda"
    if cuda and a.profile:
        ap.error("--profile is CPU-only (its phases are clock reads with no device synchronize)")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    sync = no_sync
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        sync = torch.cuda.synchronize
    s = Setup(a.batch, device=torch.device(a.device))
    ts = time_fn(s.step, a.warmup, a.iters, sync)
    result = {"median_ms": median(ts), "min_ms": min(ts), "max_ms": max(ts), "iters": len(ts),
              "threads": torch.get_num_threads(), "torch": torch.__version__,
              "device": torch.cuda.get_device_name(0) if cuda else platform.processor() or platform.machine(),
              "batch": a.batch, "dtype": "float32",
              "d_step_median_ms": median(time_fn(s.d_step, a.warmup, a.iters, sync)),
              "g_step_median_ms": median(time_fn(s.g_step, a.warmup, a.iters, sync)),
              "aw_d_step_median_ms": median(time_fn(s.aw_d_step, a.warmup, a.iters, sync))}
    tt = time_fn(s.trainer_step, a.warmup, a.iters, sync)
    result["trainer_step_median_ms"], result["trainer_step_min_ms"] = median(tt), min(tt)
    if cuda:
        result["tf32"] = False
    if a.profile:
        result["phases"] = s.profile(a.warmup, a.iters)
        result["ops"] = op_profile(a.batch, 256, a.warmup, 4 * a.iters)
        tiny = Setup(1)  # the step at batch 1: per-op framework overhead
        ts = time_fn(tiny.step, a.warmup, 4 * a.iters)
        result["overhead"] = {"step at batch 1": {"median_ms": median(ts), "min_ms": min(ts)}}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
