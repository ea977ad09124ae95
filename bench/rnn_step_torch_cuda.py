#!/usr/bin/env python3
"""bench/rnn_step_torch_cuda.py: the PyTorch CUDA row of bench_rnn_step_cuda.

The same GRU / LSTM training step as bench/bench_rnn_step_cuda.cu, on cuda:0
in float32: one layer of torch.nn.GRU or torch.nn.LSTM (time-major input
x [T, B, I] ~ N(0, 1), default init; PyTorch runs it through cuDNN), and
one step is

  zero_grad(set_to_none=True); out, _ = model(x); out.mean().backward()

with no optimizer update. TF32 off (torch.backends.cudnn.allow_tf32 and
torch.backends.cuda.matmul.allow_tf32 = False), as nova and the cuDNN rows
run strict float32. Times `iters` steps after `warmup` untimed ones, each
between two torch.cuda.Events, and prints one JSON line:
{"median_ms", "min_ms", "max_ms", "iters", "torch", "device", ...}.
Without CUDA in torch it says so (on stdout, which the bench quotes in its
note) and exits 2; the bench then reports no torch row.

    python3 bench/rnn_step_torch_cuda.py --model gru|lstm [--batch 16] [--steps 100]
                                         [--hidden 50] [--input 1] [--iters N] [--warmup N]
"""
import argparse
import json
import sys

import torch


def median(ts):
    ts = sorted(ts)
    n = len(ts)
    return ts[n // 2] if n % 2 else 0.5 * (ts[n // 2 - 1] + ts[n // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=["gru", "lstm"], required=True)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=50)
    ap.add_argument("--input", type=int, default=1)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("rnn_step_torch_cuda.py: torch.cuda is not available: no PyTorch CUDA row")
        sys.exit(2)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda:0")
    torch.manual_seed(0)
    cls = torch.nn.GRU if a.model == "gru" else torch.nn.LSTM
    model = cls(a.input, a.hidden).to(dev)
    x = torch.randn(a.steps, a.batch, a.input, device=dev)

    def step():
        model.zero_grad(set_to_none=True)
        out, _ = model(x)
        out.mean().backward()

    for _ in range(a.warmup):
        step()
    torch.cuda.synchronize()
    ts = []
    for _ in range(a.iters):
        start = torch.cuda.Event(enable_timing=True)
        stop = torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        stop.record()
        stop.synchronize()
        ts.append(start.elapsed_time(stop))
    print(json.dumps({"median_ms": median(ts), "min_ms": min(ts), "max_ms": max(ts), "iters": len(ts),
                      "torch": torch.__version__, "device": torch.cuda.get_device_name(0),
                      "cudnn": torch.backends.cudnn.version(), "model": a.model, "batch": a.batch,
                      "steps": a.steps, "hidden": a.hidden, "input": a.input, "dtype": "float32"}))


if __name__ == "__main__":
    main()
