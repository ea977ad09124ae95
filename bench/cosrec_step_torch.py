"""bench/cosrec_step_torch.py: the PyTorch side of bench_symconv's training
step: one CosRec (or SCosRec) step at ML-1M's sizes on the CPU, as
bench/bench_symconv.cpp times nova's (models/cosrec.h for the network).

SCosRec here is what a PyTorch user writes without packed kernels (and what
the thesis's PyTorch 1.1 code could do): the full L x L maps, with the
kernels W(S) and Q(R) rebuilt from their free parameters at every step and
passed to F.conv2d, so autograd sums each parameter's taps (Theorem 7,
(4.11)).

Prints one JSON line: median_ms, min_ms, max_ms, iters, threads, torch.
"""
import argparse
import json
import time
from statistics import median

import torch
import torch.nn as nn
import torch.nn.functional as F


def tri(i, j):
    hi, lo = max(i, j), min(i, j)
    return hi * (hi + 1) // 2 + lo


class SymConv(nn.Module):
    """A conv whose C x C kernel is symmetric (R [C(C+1)/2, m, F]); with
    `generating`, the input has 2m channels and channel k and m + k share R's k."""

    def __init__(self, m, f, c, generating):
        super().__init__()
        self.generating = generating
        self.weight = nn.Parameter(torch.randn(c * (c + 1) // 2, m, f) / (2 * ((2 if generating else 1) * m + f)) ** 0.5)
        self.bias = nn.Parameter(torch.zeros(f))
        self.register_buffer("taps", torch.tensor([tri(a, b) for a in range(c) for b in range(c)]))
        self.c = c

    def forward(self, x):
        w = self.weight.permute(2, 1, 0)[:, :, self.taps]  # [F, m, C*C]
        w = w.reshape(w.shape[0], w.shape[1], self.c, self.c)
        if self.generating:
            w = torch.cat([w, w], 1)
        return F.conv2d(x, w, self.bias)


class Block(nn.Module):
    def __init__(self, cin, cout, symmetric, generating):
        super().__init__()
        if symmetric:
            self.conv1 = SymConv(cin // 2 if generating else cin, cout, 1, generating)
            self.conv2 = SymConv(cout, cout, 3, False)
        else:
            self.conv1 = nn.Conv2d(cin, cout, 1)
            self.conv2 = nn.Conv2d(cout, cout, 3)
        self.bn1, self.bn2 = nn.BatchNorm2d(cout), nn.BatchNorm2d(cout)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(x)))


class CosRec(nn.Module):
    def __init__(self, users, items, d, fc, symmetric, L=5):
        super().__init__()
        self.L = L
        self.user_embeddings = nn.Embedding(users, d)
        self.item_embeddings = nn.Embedding(items, d)
        self.W2 = nn.Embedding(items, fc + d)
        self.b2 = nn.Embedding(items, 1)
        self.blocks = nn.ModuleList([Block(2 * d, 128, symmetric, True), Block(128, 256, symmetric, False)])
        self.fc1 = nn.Linear(256, fc)
        self.dropout = nn.Dropout(0.5)

    def forward(self, seq, user, items):
        e = self.item_embeddings(seq)                    # [B, L, d]
        b, L, d = e.shape
        by_col = e.unsqueeze(1).expand(b, L, L, d)
        by_row = e.unsqueeze(2).expand(b, L, L, d)
        x = torch.cat([by_col, by_row], 3).permute(0, 3, 1, 2)
        for block in self.blocks:
            x = block(x)
        x = self.dropout(torch.tanh(self.fc1(x.mean((2, 3)))))
        x = torch.cat([x, self.user_embeddings(user)], 1)
        return torch.baddbmm(self.b2(items), self.W2(items), x.unsqueeze(2)).squeeze(2)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--symmetric", type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    users, items = 6040, 3416
    model = CosRec(users, items, 50, 150, bool(a.symmetric))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-6)

    def step():
        seq = torch.randint(1, items, (a.batch, 5))
        user = torch.randint(0, users, (a.batch,))
        predict = torch.randint(1, items, (a.batch, 6))
        s = model(seq, user, predict)
        loss = F.softplus(-s[:, :3]).mean() + F.softplus(s[:, 3:]).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    ts = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        ts.append(1000 * (time.perf_counter() - t0))
    print(json.dumps({"median_ms": median(ts), "min_ms": min(ts), "max_ms": max(ts), "iters": a.iters,
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
