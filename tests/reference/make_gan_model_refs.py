#!/usr/bin/env python3
# tests/reference/make_gan_model_refs.py: PyTorch references for nova's
# image-GAN models (models/dcgan.h, models/sngan.h), read by
# tests/test_gan_models_pytorch.cpp. Not part of the build: nova never needs
# torch. Rerun by hand (any recent PyTorch, CPU; no numpy or safetensors
# package needed) from the repository root:
#
#     python tests/reference/make_gan_model_refs.py
#
# The modules below are the same architectures with module names chosen so
# that their state_dict keys are exactly nova's. DCGAN is the SN-GAN paper's
# standard CNN as its PyTorch port (github w86763777/pytorch-gan-collections,
# source/models/sngan.py); the ResNets are SN-GAN's (Tables 4 and 5), with
# conditional BN and the projection discriminator (Miyato & Koyama 2018).
# Spectral norm is torch.nn.utils.spectral_norm (its weight_orig / weight_u /
# weight_v are nova's names). The port has the 32x32 ResNets only; the 48x48
# layout (the paper's Table 5 STL-10 models), conditional BN and the
# projection (the Chainer code of Miyato & Koyama) are written here from
# the papers, as nova's headers describe them.
#
# For each model it prints the parameter count at the papers' widths (the
# test holds them as constants) and writes tests/reference/<model>.safetensors
# at a reduced width with random weights, random BN running statistics and
# affine, u and v after 3 power iterations, a fixed random input, holding
# (everything after the input computed in float64 on the float32 state, then
# stored as float32):
#   model.<key>       the state loaded into both (before any forward)
#   input.x, input.labels, input.grad_weights
#   output.eval       the forward in eval mode (stored u, v; running stats)
#   output.train      then the forward in training mode (one power iteration
#                     per SN layer; BN batch statistics)
#   grad.<key>        d sum(input.grad_weights * output.train) / d param (the
#                     weights [N, C] broadcast over pixels), for every
#                     parameter of up to 600 elements
#   after.<key>       the buffers after the training forward (u, v, running
#                     statistics updated; the parameters do not change)
import copy
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

OUT_DIR = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- DCGAN
class DcganG(nn.Module):
    def __init__(self, z_dim=128, channels=3, size=32, w=64):
        super().__init__()
        self.m, self.w = size // 8, w
        self.dense = nn.Linear(z_dim, self.m * self.m * 8 * w)
        self.bn0 = nn.BatchNorm2d(8 * w)
        self.deconv1 = nn.ConvTranspose2d(8 * w, 4 * w, 4, 2, 1)
        self.bn1 = nn.BatchNorm2d(4 * w)
        self.deconv2 = nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1)
        self.bn2 = nn.BatchNorm2d(2 * w)
        self.deconv3 = nn.ConvTranspose2d(2 * w, w, 4, 2, 1)
        self.bn3 = nn.BatchNorm2d(w)
        self.conv_out = nn.Conv2d(w, channels, 3, 1, 1)

    def forward(self, z):
        h = self.dense(z).view(-1, 8 * self.w, self.m, self.m)
        h = F.relu(self.bn0(h))
        h = F.relu(self.bn1(self.deconv1(h)))
        h = F.relu(self.bn2(self.deconv2(h)))
        h = F.relu(self.bn3(self.deconv3(h)))
        return torch.tanh(self.conv_out(h))


class DcganD(nn.Module):
    def __init__(self, channels=3, size=32, w=64):
        super().__init__()
        specs = [(channels, w, 3, 1), (w, 2 * w, 4, 2), (2 * w, 2 * w, 3, 1), (2 * w, 4 * w, 4, 2),
                 (4 * w, 4 * w, 3, 1), (4 * w, 8 * w, 4, 2), (8 * w, 8 * w, 3, 1)]
        self.n = len(specs)
        for i, (cin, cout, k, s) in enumerate(specs):
            setattr(self, f"conv{i}", spectral_norm(nn.Conv2d(cin, cout, k, s, 1)))
        m = size // 8
        self.dense = spectral_norm(nn.Linear(m * m * 8 * w, 1))

    def forward(self, x):
        h = x
        for i in range(self.n):
            h = F.leaky_relu(getattr(self, f"conv{i}")(h), 0.1)
        return self.dense(h.flatten(1))


# ---------------------------------------------------------------- SN-GAN ResNet
class CondBN(nn.Module):
    """nova's ConditionalBatchNorm2d: child "bn" (no affine), gamma/beta [K, C]."""

    def __init__(self, c, k, eps):
        super().__init__()
        self.bn = nn.BatchNorm2d(c, eps=eps, affine=False)
        self.gamma = nn.Parameter(torch.ones(k, c))
        self.beta = nn.Parameter(torch.zeros(k, c))

    def forward(self, x, y):
        return self.bn(x) * self.gamma[y][:, :, None, None] + self.beta[y][:, :, None, None]


class GenBlock(nn.Module):
    def __init__(self, cin, cout, k, eps):
        super().__init__()
        self.k = k
        self.bn1 = CondBN(cin, k, eps) if k > 0 else nn.BatchNorm2d(cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.bn2 = CondBN(cout, k, eps) if k > 0 else nn.BatchNorm2d(cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.shortcut = nn.Conv2d(cin, cout, 1, 1, 0)

    def norm(self, bn, x, y):
        return bn(x, y) if self.k > 0 else bn(x)

    def forward(self, x, y):
        h = F.interpolate(F.relu(self.norm(self.bn1, x, y)), scale_factor=2)
        h = self.conv2(F.relu(self.norm(self.bn2, self.conv1(h), y)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2))


class DisBlock(nn.Module):
    def __init__(self, cin, cout, down, optimized):
        super().__init__()
        self.down, self.optimized = down, optimized
        self.conv1 = spectral_norm(nn.Conv2d(cin, cout, 3, 1, 1))
        self.conv2 = spectral_norm(nn.Conv2d(cout, cout, 3, 1, 1))
        self.shortcut = spectral_norm(nn.Conv2d(cin, cout, 1, 1, 0)) if (optimized or cin != cout or down) else None

    def forward(self, x):
        h = self.conv1(x if self.optimized else F.relu(x))
        h = self.conv2(F.relu(h))
        if self.down or self.optimized:
            h = F.avg_pool2d(h, 2)
        if self.optimized:
            s = self.shortcut(F.avg_pool2d(x, 2))
        elif self.shortcut is not None:
            s = self.shortcut(x)
            if self.down:
                s = F.avg_pool2d(s, 2)
        else:
            s = x
        return h + s


class SnganG(nn.Module):
    def __init__(self, size=32, channels=3, z_dim=128, k=0, eps=1e-5, w=0):
        super().__init__()
        stl = size == 48
        w = w or (64 if stl else 256)
        widths = [8 * w, 4 * w, 2 * w, w] if stl else [w] * 4
        self.bw, self.bc = (6 if stl else 4), widths[0]
        self.dense = nn.Linear(z_dim, self.bw * self.bw * self.bc)
        for i in range(3):
            setattr(self, f"block{i + 1}", GenBlock(widths[i], widths[i + 1], k, eps))
        self.bn_out = nn.BatchNorm2d(widths[-1], eps=eps)
        self.conv_out = nn.Conv2d(widths[-1], channels, 3, 1, 1)

    def forward(self, z, y=None):
        h = self.dense(z).view(-1, self.bc, self.bw, self.bw)
        for i in range(3):
            h = getattr(self, f"block{i + 1}")(h, y)
        return torch.tanh(self.conv_out(F.relu(self.bn_out(h))))


class SnganD(nn.Module):
    def __init__(self, size=32, channels=3, k=0, w=0):
        super().__init__()
        if size == 48:
            w = w or 64
            specs = [(channels, w, True), (w, 2 * w, True), (2 * w, 4 * w, True), (4 * w, 8 * w, True),
                     (8 * w, 16 * w, False)]
        else:
            w = w or 128
            specs = [(channels, w, True), (w, w, True), (w, w, False), (w, w, False)]
        self.n = len(specs)
        for i, (cin, cout, down) in enumerate(specs):
            setattr(self, f"block{i + 1}", DisBlock(cin, cout, down, i == 0))
        width = specs[-1][1]
        self.dense = spectral_norm(nn.Linear(width, 1, bias=False))
        self.projection = spectral_norm(nn.Embedding(k, width)) if k > 0 else None

    def forward(self, x, y=None):
        h = x
        for i in range(self.n):
            h = getattr(self, f"block{i + 1}")(h)
        h = F.relu(h).sum(dim=(2, 3))
        out = self.dense(h)
        if self.projection is not None:
            out = out + (self.projection(y) * h).sum(dim=1, keepdim=True)
        return out


# ---------------------------------------------------------------- files
def to_bytes(t):
    return bytes(t.detach().cpu().contiguous().clone().untyped_storage())


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        b = to_bytes(t)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
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


def count_params(m):
    return sum(p.numel() for p in m.parameters())


def randomize(model, gen):
    """Random weights (scaled like a fan-in init, so activations stay O(1)),
    random BN affine and running statistics, random CBN gamma/beta."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            if leaf in ("weight", "weight_orig") and p.dim() >= 2:
                fan_in = p[0].numel() if not name.split(".")[-2].startswith("deconv") else p.shape[0] * p[0, 0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)
            elif leaf == "gamma" or (leaf == "weight" and p.dim() == 1):
                p.copy_(1 + 0.3 * torch.randn(p.shape, generator=gen))
            else:  # biases, beta
                p.copy_(0.2 * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            leaf = name.rsplit(".", 1)[-1]
            if leaf == "running_mean":
                b.copy_(0.3 * torch.randn(b.shape, generator=gen))
            elif leaf == "running_var":
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)
            elif leaf == "num_batches_tracked":
                b.fill_(3)
        # u and v near the top singular pair (3 power iterations from torch's
        # own draw), as in a trained model: with the raw draws sigma is far too
        # small and the eval output of D is huge and ill-conditioned.
        for module in model.modules():
            if hasattr(module, "weight_orig"):
                w = module.weight_orig.flatten(1)  # dim 0 for every SN layer here
                u, v = module.weight_u, module.weight_v
                for _ in range(3):
                    v.copy_(F.normalize(w.t() @ u, dim=0, eps=1e-12))
                    u.copy_(F.normalize(w @ v, dim=0, eps=1e-12))


def make_ref(name, model, x, labels, gen):
    randomize(model, gen)
    state = {f"model.{k}": v.clone() for k, v in model.state_dict().items()}
    tensors = dict(state)
    tensors["input.x"] = x
    if labels is not None:
        tensors["input.labels"] = labels
    # The forwards run in float64 on the same (float32) values and are stored
    # as float32: the reference is then exact to float32 rounding, whatever
    # order PyTorch's kernels sum in (gradients that are zero by
    # construction, as a bias just before a batch-statistics BN, come out
    # ~1e-16 instead of float32 noise).
    model = copy.deepcopy(model).double()
    args = (x.double(),) if labels is None else (x.double(), labels)
    with torch.no_grad():
        model.eval()
        out_eval = model(*args)
    model.train()
    out_train = model(*args)
    # gradients of sum(r * out_train) (r [N, C] broadcast over the pixels)
    # for every parameter of up to 600 elements: backward through BN batch
    # statistics and through spectral norm's sigma (u and v held constant)
    r = torch.randn(out_train.shape[:2], generator=gen)
    tensors["input.grad_weights"] = r
    r = r.double()
    rb = r.view(*r.shape, *([1] * (out_train.dim() - 2)))
    picked = [(n, p) for n, p in model.named_parameters() if p.numel() <= 600]
    grads = torch.autograd.grad((rb * out_train).sum(), [p for _, p in picked])
    tensors["output.eval"] = out_eval.float()
    tensors["output.train"] = out_train.detach().float()
    for (n, _), g in zip(picked, grads):
        tensors[f"grad.{n}"] = g.float()
    for k, v in model.named_buffers():  # the parameters are unchanged
        tensors[f"after.{k}"] = v.clone() if v.dtype == torch.int64 else v.float()
    size = write_safetensors(os.path.join(OUT_DIR, f"{name}.safetensors"), tensors)
    print(f"  {name}.safetensors: {size} bytes, output {list(out_train.shape)}")
    return size


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    print(f"torch {torch.__version__}")
    counts = {
        "dcgan_g_c3": count_params(DcganG(channels=3)),
        "dcgan_g_c1": count_params(DcganG(channels=1)),
        "dcgan_d_c3": count_params(DcganD(channels=3)),
        "dcgan_d_c1": count_params(DcganD(channels=1)),
        "dcgan_g_c3_48": count_params(DcganG(channels=3, size=48)),
        "dcgan_d_c3_48": count_params(DcganD(channels=3, size=48)),
        "sngan_g32": count_params(SnganG()),
        "sngan_d32": count_params(SnganD()),
        "sngan_g32_cond10": count_params(SnganG(k=10)),
        "sngan_d32_cond10": count_params(SnganD(k=10)),
        "sngan_g48": count_params(SnganG(size=48)),
        "sngan_d48": count_params(SnganD(size=48)),
    }
    print("full-size parameter counts:")
    for k, v in counts.items():
        print(f"  {k}: {v}")

    zd, total = 16, 0
    z = lambda n: torch.randn(n, zd, generator=gen)
    img = lambda n, c, s: torch.rand(n, c, s, s, generator=gen) * 2 - 1
    lab = lambda n: torch.randint(0, 10, (n,), generator=gen)
    # DCGAN at width 4 (the papers' 64), z_dim 16
    total += make_ref("dcgan_g_c3", DcganG(zd, 3, 32, 4), z(2), None, gen)
    total += make_ref("dcgan_g_c1", DcganG(zd, 1, 32, 4), z(2), None, gen)
    total += make_ref("dcgan_d_c3", DcganD(3, 32, 4), img(3, 3, 32), None, gen)
    total += make_ref("dcgan_d_c1", DcganD(1, 32, 4), img(3, 1, 32), None, gen)
    # SN-GAN 32x32 at g_width 16 / d_width 16 (256 / 128), unconditional and 10 classes
    total += make_ref("sngan_g32", SnganG(32, 3, zd, 0, w=16), z(2), None, gen)
    total += make_ref("sngan_d32", SnganD(32, 3, 0, w=16), img(3, 3, 32), None, gen)
    total += make_ref("sngan_g32_cond", SnganG(32, 3, zd, 10, w=16), z(3), lab(3), gen)
    total += make_ref("sngan_d32_cond", SnganD(32, 3, 10, w=16), img(3, 3, 32), lab(3), gen)
    # SN-GAN 48x48 at g_width 4 / d_width 2 (64 / 64), z_dim 8 (its dense layer is the largest)
    total += make_ref("sngan_g48", SnganG(48, 3, 8, 0, w=4), torch.randn(2, 8, generator=gen), None, gen)
    total += make_ref("sngan_d48", SnganD(48, 3, 0, w=2), img(2, 3, 48), None, gen)
    # SN-GAN 48x48 with 10 classes (conditional BN, projection), the widths
    # above. Added later, and so counted and made last: the random streams
    # the files above come from (torch's global one draws spectral norm's
    # first u) are unchanged, and so are their bytes.
    counts = {
        "sngan_g48_cond10": count_params(SnganG(size=48, k=10)),
        "sngan_d48_cond10": count_params(SnganD(size=48, k=10)),
    }
    print("full-size parameter counts:")
    for k, v in counts.items():
        print(f"  {k}: {v}")
    total += make_ref("sngan_g48_cond", SnganG(48, 3, 8, 10, w=4), torch.randn(2, 8, generator=gen), lab(2), gen)
    total += make_ref("sngan_d48_cond", SnganD(48, 3, 10, w=2), img(2, 3, 48), lab(2), gen)
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
