#!/usr/bin/env python3
"""bench/rnn_step_torch.py: the PyTorch baseline of bench_rnn_step.

The same GRU / LSTM training step as bench/bench_rnn_step.cpp, on the CPU in
float32, with PyTorch's usual idioms: one layer of torch.nn.GRU or
torch.nn.LSTM (time-major input x [T, B, I] ~ N(0, 1), default init), and
one step is

  zero_grad(set_to_none=True); out, _ = model(x); out.mean().backward()

with no optimizer update. Times `iters` steps after `warmup` untimed ones
(time.perf_counter) and prints one JSON line:
{"median_ms", "min_ms", "max_ms", "iters", "threads", "torch", "device", ...}

    python3 bench/rnn_step_torch.py --model gru|lstm [--batch 16] [--steps 100]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["gru", "lstm"], required=True)
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
    cls = torch.nn.GRU if a.model == "gru" else torch.nn.LSTM
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
