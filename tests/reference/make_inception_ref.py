#!/usr/bin/env python3
# tests/reference/make_inception_ref.py: the reference for nova's FID
# Inception network (models/inception_v3.h), read by
# tests/test_inception_v3.cpp. Not part of the build. Rerun by hand from the
# repository root with PyTorch, torchvision and the PyPI package pytorch-fid
# (pip install --no-deps pytorch-fid; torchvision needs numpy and pillow to
# import):
#
#     python tests/reference/make_inception_ref.py
#
# (a) Builds pytorch-fid's own network with random weights: its
#     fid_inception_v3() constructs torchvision's inception_v3(num_classes=1008,
#     aux_logits=False, weights=None, init_weights=False), swaps in the
#     FIDInceptionA/C/E_1/E_2 blocks and then downloads the FID weights; the
#     download is replaced here by a random state dict of the same keys, so
#     the package's code runs unchanged and nothing is fetched. Prints the
#     parameter counts (the test holds them as constants).
# (b) Defines FidInception, a plain-PyTorch copy of that network whose
#     channel counts are all divided by `divisor` (the fc's 1008 classes
#     too), with the same state_dict keys (torchvision's names, those of the
#     FID weights file pt_inception-2015-12-05-6726825d.pth). At divisor 1 it
#     is checked against pytorch-fid: same keys and shapes, and with the same
#     weights the same pool3 features as pytorch_fid.inception.InceptionV3
#     (which also resizes to 299x299 and maps [0, 1] to [-1, 1]) and the same
#     logits as fid_inception_v3()'s fc. It also checks the key map from the
#     InceptionV3 wrapper's names (blocks.i.j.*) to these.
# (c) Writes tests/reference/inception_div16.safetensors: the divisor-16
#     copy with random weights and BN statistics (model.<key>), an input of
#     2 images 3x32x32 in [0, 1] (input.x), and the features [2, 128] and
#     logits [2, 63] (output.features, output.logits) computed in float64 on
#     the float32 state and stored as float64. Divisor 16, not 8: at 8 the
#     weights alone are 1.4 MB; at 16 the file is 477 KB.
import copy
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

import pytorch_fid.inception as fi

OUT_DIR = os.path.dirname(os.path.abspath(__file__))


# ------------------------------------------------- (a) pytorch-fid, no download
def fid_inception_random():
    """fid_inception_v3() without its load: the same modules, torch's init."""
    inception = fi._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    inception.Mixed_5b = fi.FIDInceptionA(192, pool_features=32)
    inception.Mixed_5c = fi.FIDInceptionA(256, pool_features=64)
    inception.Mixed_5d = fi.FIDInceptionA(288, pool_features=64)
    inception.Mixed_6b = fi.FIDInceptionC(768, channels_7x7=128)
    inception.Mixed_6c = fi.FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6d = fi.FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6e = fi.FIDInceptionC(768, channels_7x7=192)
    inception.Mixed_7b = fi.FIDInceptionE_1(1280)
    inception.Mixed_7c = fi.FIDInceptionE_2(2048)
    return inception


# The package's fid_inception_v3() then loads whatever the "download" returns.
fi.load_state_dict_from_url = lambda url, progress=True: fid_inception_random().state_dict()


# ------------------------------------------------- (b) the width-scaled copy
class Basic(nn.Module):
    """torchvision's BasicConv2d: conv (no bias), BN eps 0.001, ReLU."""

    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg3(x):  # the FID blocks' pool: TF's average ignores the padding
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)


class A(nn.Module):
    def __init__(self, cin, pool, d):
        super().__init__()
        self.branch1x1 = Basic(cin, 64 // d, 1)
        self.branch5x5_1 = Basic(cin, 48 // d, 1)
        self.branch5x5_2 = Basic(48 // d, 64 // d, 5, padding=2)
        self.branch3x3dbl_1 = Basic(cin, 64 // d, 1)
        self.branch3x3dbl_2 = Basic(64 // d, 96 // d, 3, padding=1)
        self.branch3x3dbl_3 = Basic(96 // d, 96 // d, 3, padding=1)
        self.branch_pool = Basic(cin, pool, 1)

    def forward(self, x):
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(avg3(x))], 1)


class B(nn.Module):
    def __init__(self, cin, d):
        super().__init__()
        self.branch3x3 = Basic(cin, 384 // d, 3, stride=2)
        self.branch3x3dbl_1 = Basic(cin, 64 // d, 1)
        self.branch3x3dbl_2 = Basic(64 // d, 96 // d, 3, padding=1)
        self.branch3x3dbl_3 = Basic(96 // d, 96 // d, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class C(nn.Module):
    def __init__(self, cin, c7, d):
        super().__init__()
        self.branch1x1 = Basic(cin, 192 // d, 1)
        self.branch7x7_1 = Basic(cin, c7, 1)
        self.branch7x7_2 = Basic(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7_3 = Basic(c7, 192 // d, (7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = Basic(cin, c7, 1)
        self.branch7x7dbl_2 = Basic(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = Basic(c7, c7, (1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = Basic(c7, c7, (7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = Basic(c7, 192 // d, (1, 7), padding=(0, 3))
        self.branch_pool = Basic(cin, 192 // d, 1)

    def forward(self, x):
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for m in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = m(bd)
        return torch.cat([self.branch1x1(x), b7, bd, self.branch_pool(avg3(x))], 1)


class D(nn.Module):
    def __init__(self, cin, d):
        super().__init__()
        self.branch3x3_1 = Basic(cin, 192 // d, 1)
        self.branch3x3_2 = Basic(192 // d, 320 // d, 3, stride=2)
        self.branch7x7x3_1 = Basic(cin, 192 // d, 1)
        self.branch7x7x3_2 = Basic(192 // d, 192 // d, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = Basic(192 // d, 192 // d, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = Basic(192 // d, 192 // d, 3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class E(nn.Module):
    def __init__(self, cin, d, max_pool):
        super().__init__()
        self.max_pool = max_pool  # FIDInceptionE_2 (Mixed_7c) max-pools
        self.branch1x1 = Basic(cin, 320 // d, 1)
        self.branch3x3_1 = Basic(cin, 384 // d, 1)
        self.branch3x3_2a = Basic(384 // d, 384 // d, (1, 3), padding=(0, 1))
        self.branch3x3_2b = Basic(384 // d, 384 // d, (3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = Basic(cin, 448 // d, 1)
        self.branch3x3dbl_2 = Basic(448 // d, 384 // d, 3, padding=1)
        self.branch3x3dbl_3a = Basic(384 // d, 384 // d, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = Basic(384 // d, 384 // d, (3, 1), padding=(1, 0))
        self.branch_pool = Basic(cin, 192 // d, 1)

    def forward(self, x):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pool = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else avg3(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pool)], 1)


class FidInception(nn.Module):
    def __init__(self, d=1):
        super().__init__()
        c = lambda n: n // d  # noqa: E731
        self.Conv2d_1a_3x3 = Basic(3, c(32), 3, stride=2)
        self.Conv2d_2a_3x3 = Basic(c(32), c(32), 3)
        self.Conv2d_2b_3x3 = Basic(c(32), c(64), 3, padding=1)
        self.Conv2d_3b_1x1 = Basic(c(64), c(80), 1)
        self.Conv2d_4a_3x3 = Basic(c(80), c(192), 3)
        self.Mixed_5b = A(c(192), c(32), d)
        self.Mixed_5c = A(c(256), c(64), d)
        self.Mixed_5d = A(c(288), c(64), d)
        self.Mixed_6a = B(c(288), d)
        self.Mixed_6b = C(c(768), c(128), d)
        self.Mixed_6c = C(c(768), c(160), d)
        self.Mixed_6d = C(c(768), c(160), d)
        self.Mixed_6e = C(c(768), c(192), d)
        self.Mixed_7a = D(c(768), d)
        self.Mixed_7b = E(c(1280), d, max_pool=False)
        self.Mixed_7c = E(c(2048), d, max_pool=True)
        self.fc = nn.Linear(c(2048), c(1008))

    def features(self, x):
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = 2 * x - 1
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, "Mixed_" + name)(x)
        return x.mean((2, 3))

    def forward(self, x):
        f = self.features(x)
        return f, self.fc(f)


# InceptionV3 (the wrapper) names its modules blocks.i.j; these are the names
# the FID weights file and fid_inception_v3() use for them.
WRAPPER_NAMES = {
    "blocks.0.0": "Conv2d_1a_3x3", "blocks.0.1": "Conv2d_2a_3x3", "blocks.0.2": "Conv2d_2b_3x3",
    "blocks.1.0": "Conv2d_3b_1x1", "blocks.1.1": "Conv2d_4a_3x3",
    **{f"blocks.2.{i}": f"Mixed_{n}" for i, n in enumerate(["5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e"])},
    **{f"blocks.3.{i}": f"Mixed_{n}" for i, n in enumerate(["7a", "7b", "7c"])},
}


def wrapper_key(k):
    parts = k.split(".", 3)  # blocks, i, j, rest
    return WRAPPER_NAMES[".".join(parts[:3])] + "." + parts[3]


def randomize(model, gen):
    """Fan-in-scaled conv/fc weights, BN affine and running statistics
    around the identity, so activations stay O(1) through 94 layers."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / p[0].numel()) ** 0.5)
            elif name.endswith("bn.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen))
            else:  # BN bias, fc bias
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.2 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)
            elif name.endswith("num_batches_tracked"):
                b.fill_(7)


# ------------------------------------------------- (c) the file
def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        dtype = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}[t.dtype]
        b = bytes(t.detach().cpu().contiguous().clone().untyped_storage())
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


def count(m):
    return sum(p.numel() for p in m.parameters())


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(2048)
    print(f"torch {torch.__version__}, pytorch-fid network from {fi.__file__}")

    # (a)
    full = fi.fid_inception_v3()                 # torchvision names, with fc 2048->1008
    wrapper = fi.InceptionV3([3])                # what pytorch-fid's FID uses: no fc
    print(f"fid_inception_v3 parameters: {count(full)} (fc {count(full.fc)})")
    print(f"InceptionV3([3]) parameters: {count(wrapper)}")
    assert count(full) - count(full.fc) == count(wrapper)

    # (b) the copy at divisor 1 is pytorch-fid's network
    mine = FidInception(1)
    ref_sd, my_sd = full.state_dict(), mine.state_dict()
    assert list(ref_sd) == list(my_sd), set(ref_sd) ^ set(my_sd)
    assert all(ref_sd[k].shape == my_sd[k].shape for k in ref_sd)
    wrap_sd = {wrapper_key(k): v for k, v in wrapper.state_dict().items()}
    assert set(wrap_sd) == set(k for k in ref_sd if not k.startswith("fc."))
    assert all(wrap_sd[k].shape == ref_sd[k].shape for k in wrap_sd)
    randomize(mine, gen)
    sd = mine.state_dict()
    full.load_state_dict(sd)
    wrapper.load_state_dict({k: sd[wrapper_key(k)] for k in wrapper.state_dict()})
    for m in (mine, full, wrapper):
        m.eval()
    x = torch.rand(2, 3, 40, 48, generator=gen)
    with torch.no_grad():
        f_mine, l_mine = mine(x)
        f_fid = wrapper(x)[0].flatten(1)
        l_fid = full.fc(f_fid)
    err_f = (f_mine - f_fid).abs().max().item()
    err_l = (l_mine - l_fid).abs().max().item()
    print(f"divisor 1 vs pytorch-fid: features {list(f_fid.shape)} max |diff| {err_f:.3g} "
          f"(max |f| {f_fid.abs().max().item():.3g}), logits max |diff| {err_l:.3g}")
    assert err_f <= 1e-5 * f_fid.abs().max().item() and err_l <= 1e-5 * l_fid.abs().max().item()

    # (c)
    d = 16
    small = FidInception(d)
    randomize(small, gen)
    print(f"divisor {d}: {count(small)} parameters")
    tensors = {f"model.{k}": v.clone() for k, v in small.state_dict().items()}
    x = torch.rand(2, 3, 32, 32, generator=gen)
    tensors["input.x"] = x
    small64 = copy.deepcopy(small).double().eval()
    with torch.no_grad():
        f, l = small64(x.double())
    tensors["output.features"] = f
    tensors["output.logits"] = l
    print(f"features {list(f.shape)} |f| in [{f.abs().min().item():.3g}, {f.abs().max().item():.3g}], "
          f"logits {list(l.shape)} max |l| {l.abs().max().item():.3g}")
    size = write_safetensors(os.path.join(OUT_DIR, f"inception_div{d}.safetensors"), tensors)
    print(f"inception_div{d}.safetensors: {size} bytes")


if __name__ == "__main__":
    main()
