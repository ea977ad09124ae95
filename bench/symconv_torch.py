"""bench/symconv_torch.py: the PyTorch side of bench_symconv's sweep (see
bench/bench_symconv.cpp): F.conv2d on the CPU at the full-map shapes of each
sweep case, forward alone and backward alone, timed as bench_symconv times
nova's.

  forward   y = F.conv2d(x, w, padding=pad), x and w requiring grad (what a
            training forward records)
  backward  torch.autograd.grad(y, [x, w], r) after an untimed forward: the
            data and the filter gradient of one backward

Each pass: one untimed call plus --warmup more, then as many timed calls as
fit in --budget-ms (at least 3, at most --iters).

--cases is a ';'-separated list of "N,Cin,F,C,pad,L": x [N, Cin, L, L],
w [F, Cin, C, C]. Prints one JSON line: {"torch", "threads", "rows": [{"case",
"fwd": {median_ms, min_ms, max_ms, iters}, "bwd": {...}}, ...]}, rows in the
order of --cases.
"""
import argparse
import json
import time
from statistics import median

import torch
import torch.nn.functional as F


def time_pass(setup, timed, warmup, iters, budget_ms):
    def once():
        setup()
        t0 = time.perf_counter()
        timed()
        return (time.perf_counter() - t0) * 1e3

    first = once()
    for _ in range(warmup):
        once()
    n = max(3, min(iters, int(budget_ms / max(first, 1e-3))))
    ms = [once() for _ in range(n)]
    return {"median_ms": median(ms), "min_ms": min(ms), "max_ms": max(ms), "iters": n}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--iters", type=int, default=50)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--budget-ms", type=float, default=1000.0)
    p.add_argument("--cases", required=True)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    rows = []
    for spec in a.cases.split(";"):
        n, cin, f, c, pad, side = (int(v) for v in spec.split(","))
        out = side + 2 * pad - c + 1
        x = torch.randn(n, cin, side, side, requires_grad=True)
        w = (torch.randn(f, cin, c, c) * 0.05).requires_grad_()
        r = torch.randn(n, f, out, out)
        state = {}

        def fwd_setup():
            state.clear()

        def fwd():
            state["y"] = F.conv2d(x, w, padding=pad)

        def bwd_setup():
            state.clear()
            state["y"] = F.conv2d(x, w, padding=pad)

        def bwd():
            state["g"] = torch.autograd.grad(state["y"], [x, w], r)

        rows.append({
            "case": spec,
            "fwd": time_pass(fwd_setup, fwd, a.warmup, a.iters, a.budget_ms),
            "bwd": time_pass(bwd_setup, bwd, a.warmup, a.iters, a.budget_ms),
        })
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
