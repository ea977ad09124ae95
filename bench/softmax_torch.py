#!/usr/bin/env python3
"""bench/softmax_torch.py: the PyTorch baseline of bench_softmax.

Times torch.softmax(x, dim=-1) on cuda for a float32 [rows, cols] tensor with
torch.cuda.Event (warm-up, then `iters` timed runs, 100 MB written between
runs to flush L2, as bench/common.h does) and prints one JSON line:
{"median_ms": ..., "min_ms": ..., "max_ms": ..., "iters": ..., "torch": ..., "device": ...}

    python3 bench/softmax_torch.py ROWS COLS [ITERS] [WARMUP]
"""
import json
import sys

import torch


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 8192
    cols = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
    iters = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    warmup = int(sys.argv[4]) if len(sys.argv) > 4 else 5
    if not torch.cuda.is_available():
        print("softmax_torch.py: torch.cuda is not available", file=sys.stderr)
        sys.exit(1)
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda:0")
    x = torch.randn(rows, cols, dtype=torch.float32, device=dev)
    flush = torch.empty(100 << 20, dtype=torch.uint8, device=dev)
    for _ in range(warmup):
        torch.softmax(x, dim=-1)
    torch.cuda.synchronize()
    start = torch.cuda.Event(enable_timing=True)
    stop = torch.cuda.Event(enable_timing=True)
    times = []
    for i in range(iters):
        flush.fill_(i & 0xFF)
        start.record()
        torch.softmax(x, dim=-1)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    n = len(times)
    median = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    print(json.dumps({"median_ms": median, "min_ms": times[0], "max_ms": times[-1], "iters": n,
                      "torch": torch.__version__, "device": torch.cuda.get_device_name(0),
                      "shape": [rows, cols], "dtype": "float32"}))


if __name__ == "__main__":
    main()
