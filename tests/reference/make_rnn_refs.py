#!/usr/bin/env python3
# tests/reference/make_rnn_refs.py: PyTorch references for nova's recurrent
# layers (nn/rnn.h), read by tests/test_rnn.cpp. Not part of the build: nova
# never needs torch. Rerun by hand (any recent PyTorch, CPU; no numpy or
# safetensors package needed) from the repository root:
#
#     python tests/reference/make_rnn_refs.py
#
# Writes tests/reference/gru_ref.safetensors and lstm_ref.safetensors, all
# float64, from torch.nn.GRU / LSTM (2 layers, input_size 4, hidden_size 5,
# T 5, B 3) and torch.nn.GRUCell / LSTMCell with PyTorch's own random init
# (seed 0), holding:
#   model.<key>        the sequence module's state_dict (nova's names are the same)
#   input.x            [T, B, I] (time-major); input.h0 (and input.c0) [2, B, H]
#   input.w_out, input.w_h (and input.w_c)   the loss weights, below
#   output.output      [T, B, H];  output.h_n (and output.c_n) [2, B, H]
#   output.bf_output   batch_first=True on x.transpose(0, 1): [B, T, H]
#   output.zero_state  the output with no initial state given (zeros)
#   grad.<name>        d loss / d <name> for x, h0 (c0) and every parameter,
#                      loss = sum(w_out * output) + sum(w_h * h_n) (+ sum(w_c * c_n))
#   cell.<key>         a GRUCell / LSTMCell (I 4, H 5) state_dict;
#   cell.x [B, I], cell.h [B, H] (cell.c), cell.out_h (cell.out_c) one step
import json
import os
import struct

import torch

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
I, H, T, B, L = 4, 5, 5, 3, 2


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = bytes(t.detach().cpu().contiguous().clone().untyped_storage())
        header[name] = {"dtype": "F64", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return os.path.getsize(path)


def reference(kind):
    lstm = kind == "lstm"
    cls = torch.nn.LSTM if lstm else torch.nn.GRU
    model = cls(I, H, num_layers=L).double()
    out = {f"model.{k}": v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(L, B, H, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(L, B, H, dtype=torch.float64, requires_grad=True)
    w_out = torch.randn(T, B, H, dtype=torch.float64)
    w_h = torch.randn(L, B, H, dtype=torch.float64)
    w_c = torch.randn(L, B, H, dtype=torch.float64)
    if lstm:
        y, (h_n, c_n) = model(x, (h0, c0))
        loss = (w_out * y).sum() + (w_h * h_n).sum() + (w_c * c_n).sum()
        inputs = {"x": x, "h0": h0, "c0": c0}
    else:
        y, h_n = model(x, h0)
        loss = (w_out * y).sum() + (w_h * h_n).sum()
        inputs = {"x": x, "h0": h0}
    params = dict(model.named_parameters())
    grads = torch.autograd.grad(loss, list(inputs.values()) + list(params.values()))
    for name, t in inputs.items():
        out[f"input.{name}"] = t.detach()
    out["input.w_out"], out["input.w_h"] = w_out, w_h
    if lstm:
        out["input.w_c"] = w_c
        out["output.c_n"] = c_n.detach()
    out["output.output"], out["output.h_n"] = y.detach(), h_n.detach()
    for name, g in zip(list(inputs) + list(params), grads):
        out[f"grad.{name}"] = g
    with torch.no_grad():
        bf = cls(I, H, num_layers=L, batch_first=True).double()
        bf.load_state_dict(model.state_dict())
        state = (h0, c0) if lstm else h0
        out["output.bf_output"] = bf(x.transpose(0, 1), state)[0]
        out["output.zero_state"] = model(x)[0]
        cell = (torch.nn.LSTMCell if lstm else torch.nn.GRUCell)(I, H).double()
        for k, v in cell.state_dict().items():
            out[f"cell.{k}"] = v.clone()
        cx, ch, cc = (torch.randn(B, n, dtype=torch.float64) for n in (I, H, H))
        out["cell.x"], out["cell.h"] = cx, ch
        if lstm:
            out["cell.c"] = cc
            out["cell.out_h"], out["cell.out_c"] = cell(cx, (ch, cc))
        else:
            out["cell.out_h"] = cell(cx, ch)
    return out


def main():
    torch.manual_seed(0)
    for kind in ("gru", "lstm"):
        path = os.path.join(OUT_DIR, f"{kind}_ref.safetensors")
        print(f"{path}: {write_safetensors(path, reference(kind))} bytes")


if __name__ == "__main__":
    main()
