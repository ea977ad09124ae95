#!/usr/bin/env python3
"""bench/rnn_step_torch.py: the PyTorch baseline of bench_rnn_step.

The same GRU / LSTM / NC-GRU training step as bench/bench_rnn_step.cpp, on
the CPU in float32, with PyTorch's usual idioms: one layer of torch.nn.GRU or
torch.nn.LSTM (time-major input x [T, B, I] ~ N(0, 1), default init), or
NC-GRU (thesis eq. 3.53), which PyTorch does not have, written as a PyTorch
user would: the input projections of all steps in one matmul, then a Python
loop of tensor ops per step, U_c a plain parameter (the Cayley update is an
optimizer's, outside the step, as on nova's side). One step is

  zero_grad(set_to_none=True); out, _ = model(x); out.mean().backward()

with no optimizer update. Times `iters` steps after `warmup` untimed ones
(time.perf_counter) and prints one JSON line:
{"median_ms", "min_ms", "max_ms", "iters", "threads", "torch", "device", ...}

    python3 bench/rnn_step_torch.py --model gru|lstm|ncgru [--batch 16] [--steps 100]
                                    [--hidden 50] [--input 1] [--threads N]
                                    [--iters N] [--warmup N]
"""
import argparse
import json
import platform
import time

import torch


def median(ts):
    ts = sorted(ts)
    n = len(ts)
    return ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])


def time_fn(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return ts


class NCGRU(torch.nn.Module):
    """NC-GRU, eq. (3.53): r = sigmoid(W_r x + U_r h + b_r), u = sigmoid(W_u x +
    U_u h + b_u), c = modReLU(W_c x + U_c (r h); b_c), h' = (1 - u) h + u c,
    with r and u from one matmul of h, as nova's ops::ncgru_recurrence."""

    def __init__(self, input_size, hidden):
        super().__init__()
        k = hidden ** -0.5
        self.hidden = hidden
        self.W = torch.nn.Parameter(torch.empty(3 * hidden, input_size).uniform_(-k, k))  # [W_r; W_u; W_c]
        self.U_ru = torch.nn.Parameter(torch.empty(2 * hidden, hidden).uniform_(-k, k))
        self.U_c = torch.nn.Parameter(torch.linalg.qr(torch.randn(hidden, hidden))[0])
        self.b_ru = torch.nn.Parameter(torch.empty(2 * hidden).uniform_(-k, k))
        self.b_c = torch.nn.Parameter(torch.empty(hidden).uniform_(-0.1, 0.1))

    def forward(self, x):
        H = self.hidden
        proj = x @ self.W.T  # [T, B, 3H]
        h = x.new_zeros(x.shape[1], H)
        outs = []
        for t in range(x.shape[0]):
            p = proj[t]
            ru = torch.sigmoid(p[:, :2 * H] + torch.nn.functional.linear(h, self.U_ru, self.b_ru))
            r, u = ru[:, :H], ru[:, H:]
            z = p[:, 2 * H:] + (r * h) @ self.U_c.T
            c = torch.sign(z) * torch.relu(z.abs() + self.b_c)
            h = (1 - u) * h + u * c
            outs.append(h)
        return torch.stack(outs), h


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["gru", "lstm", "ncgru"], required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=50)
    ap.add_argument("--input", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cls = {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM, "ncgru": NCGRU}[a.model]
    model = cls(a.input, a.hidden)
    x = torch.randn(a.steps, a.batch, a.input)

    def step():
        model.zero_grad(set_to_none=True)
        out, _ = model(x)
        out.mean().backward()

    ts = time_fn(step, a.warmup, a.iters)
    print(json.dumps({"median_ms": median(ts), "min_ms": min(ts), "max_ms": max(ts), "iters": len(ts),
                      "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "device": platform.processor() or platform.machine(), "model": a.model,
                      "batch": a.batch, "steps": a.steps, "hidden": a.hidden, "input": a.input,
                      "dtype": "float32"}))


if __name__ == "__main__":
    main()
