"""tests/reference/count_autogan_biggan_params.py: PyTorch references for
models/autogan.{h,cpp} and models/biggan.{h,cpp} (tests/test_autogan_biggan.cpp).

It rebuilds, in its own code, the architectures as the official sources define
them (read, not copied):
  - AutoGAN: TAMU-VITA/AutoGAN models/autogan_cifar10_a.py and
    models/building_blocks.py (Cell with its in-place skip add, SN-GAN's D with
    torch.nn.utils.spectral_norm), init of train_derived.py's weights_init
    (xavier_uniform).
  - BigGAN: ajbrock/BigGAN-PyTorch BigGAN.py and layers.py at resolution 32
    (G_arch/D_arch[32]), with BigGAN's own SN (weight, u0, sv0: one singular
    vector, power iteration from u), ccbn, layers.bn, the projection D.
Then it
  1. prints the parameter counts of the full-size models (AutoGAN gf_dim 256,
     df_dim 128; BigGAN CIFAR, G_ch = D_ch = 64, 10 classes, and its
     shared-embedding and shared + hierarchical variants), which the C++ test
     holds as constants;
  2. writes autogan_ref.safetensors, biggan_ref.safetensors and
     biggan_hier_ref.safetensors (G with the shared embedding and the
     hierarchical latent) here: the random weights of reduced-width models
     under nova's parameter names (float32 values; both sides compute in
     float64 from them), the inputs, the float64 training-mode outputs of G
     and of D on G's output, some of the state the training forward leaves
     (after.*: BN running statistics, SN vectors), and for AutoGAN D's
     eval-mode output after it.

Run: /tmp/tv/bin/python tests/reference/count_autogan_biggan_params.py
(PyTorch 2.15, CPU; no numpy or safetensors package needed).
"""
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- AutoGAN
class AgCell(nn.Module):
    def __init__(self, cin, cout, mode, n_skip, shortcut):
        super().__init__()
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.mode = mode
        self.c_sc = nn.Conv2d(cin, cout, 1) if shortcut else None
        self.skip_in_ops = (nn.ModuleList([nn.Conv2d(cout, cout, 1) for _ in range(n_skip)])
                            if n_skip else None)

    def forward(self, x, skips=()):
        h = self.c1(F.interpolate(F.relu(x), scale_factor=2, mode=self.mode))
        skip_out = h  # the same tensor object: the in-place adds below show in it
        if self.skip_in_ops is not None:
            for ft, op in zip(skips, self.skip_in_ops):
                h += op(F.interpolate(ft, size=h.shape[2:], mode=self.mode))
        out = self.c2(F.relu(h))
        if self.c_sc is not None:
            out = out + self.c_sc(F.interpolate(x, scale_factor=2, mode=self.mode))
        return skip_out, out


class AgG(nn.Module):
    def __init__(self, z=128, g=256, bw=4):
        super().__init__()
        self.g, self.bw = g, bw
        self.l1 = nn.Linear(z, bw * bw * g)
        self.cell1 = AgCell(g, g, 'nearest', 0, True)
        self.cell2 = AgCell(g, g, 'bilinear', 1, True)
        self.cell3 = AgCell(g, g, 'nearest', 2, False)
        self.to_rgb = nn.Sequential(nn.BatchNorm2d(g), nn.ReLU(), nn.Conv2d(g, 3, 3, 1, 1), nn.Tanh())

    def forward(self, z):
        h = self.l1(z).view(-1, self.g, self.bw, self.bw)
        s1, h1 = self.cell1(h)
        s2, h2 = self.cell2(h1, (s1,))
        _, h3 = self.cell3(h2, (s1, s2))
        return self.to_rgb(h3)


def sn(m):
    return nn.utils.spectral_norm(m)


class AgDBlock(nn.Module):
    def __init__(self, cin, cout, down, optimized):
        super().__init__()
        self.down, self.optimized = down, optimized
        self.c1 = sn(nn.Conv2d(cin, cout, 3, padding=1))
        self.c2 = sn(nn.Conv2d(cout, cout, 3, padding=1))
        self.c_sc = sn(nn.Conv2d(cin, cout, 1)) if (optimized or cin != cout or down) else None

    def forward(self, x):
        h = x if self.optimized else F.relu(x)
        h = self.c2(F.relu(self.c1(h)))
        if self.optimized or self.down:
            h = F.avg_pool2d(h, 2)
        if self.optimized:
            s = self.c_sc(F.avg_pool2d(x, 2))
        elif self.c_sc is not None:
            s = self.c_sc(x)
            if self.down:
                s = F.avg_pool2d(s, 2)
        else:
            s = x
        return h + s


class AgD(nn.Module):
    def __init__(self, d=128):
        super().__init__()
        self.block1 = AgDBlock(3, d, True, True)
        self.block2 = AgDBlock(d, d, True, False)
        self.block3 = AgDBlock(d, d, False, False)
        self.block4 = AgDBlock(d, d, False, False)
        self.l5 = sn(nn.Linear(d, 1, bias=False))

    def forward(self, x):
        h = self.block4(self.block3(self.block2(self.block1(x))))
        return self.l5(F.relu(h).sum(2).sum(2))


def autogan_init(m):
    # train_derived.py weights_init, init_type xavier_uniform
    name = m.__class__.__name__
    if 'Conv2d' in name:
        nn.init.xavier_uniform_(m.weight.data, 1.0)  # under SN: weight.data shares weight_orig's storage
    elif 'BatchNorm2d' in name:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0.0)


# ---------------------------------------------------------------- BigGAN
class BgSN:
    """BigGAN-PyTorch's SN with num_svs = 1: buffers u0 [1, rows], sv0 [1]."""

    def sn_setup(self, rows, itrs, eps):
        self.itrs, self.eps = itrs, eps
        self.register_buffer('u0', torch.randn(1, rows))
        self.register_buffer('sv0', torch.ones(1))

    def w_sn(self):
        w = self.weight.view(self.weight.size(0), -1)
        for _ in range(self.itrs):
            with torch.no_grad():
                v = F.normalize(self.u0 @ w, eps=self.eps)
                u = F.normalize(v @ w.t(), eps=self.eps)
                if self.training:
                    self.u0[:] = u
            sv = torch.squeeze((v @ w.t()) @ u.t())
        if self.training:
            with torch.no_grad():
                self.sv0[:] = sv
        return self.weight / sv


class BgConv(nn.Conv2d, BgSN):
    def __init__(self, cin, cout, k=3, pad=1, itrs=1, eps=1e-8):
        nn.Conv2d.__init__(self, cin, cout, k, padding=pad)
        self.sn_setup(cout, itrs, eps)

    def forward(self, x):
        return F.conv2d(x, self.w_sn(), self.bias, self.stride, self.padding)


class BgLinear(nn.Linear, BgSN):
    def __init__(self, cin, cout, bias=True, itrs=1, eps=1e-8):
        nn.Linear.__init__(self, cin, cout, bias)
        self.sn_setup(cout, itrs, eps)

    def forward(self, x):
        return F.linear(x, self.w_sn(), self.bias)


class BgEmbedding(nn.Embedding, BgSN):
    def __init__(self, n, dim, itrs=1, eps=1e-8):
        nn.Embedding.__init__(self, n, dim)
        self.sn_setup(n, itrs, eps)  # rows = num_embeddings, as layers.SNEmbedding

    def forward(self, x):
        return F.embedding(x, self.w_sn())


class BgCcbn(nn.Module):
    def __init__(self, c, n_classes, input_size, bn_eps):
        super().__init__()
        if input_size == 0:
            self.gain, self.bias = nn.Embedding(n_classes, c), nn.Embedding(n_classes, c)
        else:
            self.gain, self.bias = BgLinear(input_size, c, bias=False), BgLinear(input_size, c, bias=False)
        self.eps = bn_eps
        self.register_buffer('stored_mean', torch.zeros(c))
        self.register_buffer('stored_var', torch.ones(c))

    def forward(self, x, y):
        gain = (1 + self.gain(y)).view(y.size(0), -1, 1, 1)
        bias = self.bias(y).view(y.size(0), -1, 1, 1)
        out = F.batch_norm(x, self.stored_mean, self.stored_var, None, None, self.training, 0.1, self.eps)
        return out * gain + bias


class BgBn(nn.Module):  # layers.bn: eps 1e-5 whatever BN_eps is
    def __init__(self, c):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.register_buffer('stored_mean', torch.zeros(c))
        self.register_buffer('stored_var', torch.ones(c))

    def forward(self, x):
        return F.batch_norm(x, self.stored_mean, self.stored_var, self.gain, self.bias, self.training, 0.1, 1e-5)


class BgGBlock(nn.Module):
    def __init__(self, cin, cout, n_classes, ccbn_in, bn_eps):
        super().__init__()
        self.conv1, self.conv2 = BgConv(cin, cout), BgConv(cout, cout)
        self.conv_sc = BgConv(cin, cout, 1, 0)
        self.bn1 = BgCcbn(cin, n_classes, ccbn_in, bn_eps)
        self.bn2 = BgCcbn(cout, n_classes, ccbn_in, bn_eps)

    def forward(self, x, y):
        h = F.relu(self.bn1(x, y))
        h = F.interpolate(h, scale_factor=2)
        x = F.interpolate(x, scale_factor=2)
        h = self.conv2(F.relu(self.bn2(self.conv1(h), y)))
        return h + self.conv_sc(x)


class BgG(nn.Module):
    def __init__(self, ch=64, dim_z=128, n_classes=10, shared=False, shared_dim=0, hier=False, bn_eps=1e-5):
        super().__init__()
        self.width = 4 * ch
        self.shared_dim = shared_dim if shared_dim > 0 else dim_z
        self.hier = hier
        nblocks = 3
        if hier:
            self.num_slots = nblocks + 1
            self.z_chunk = dim_z // self.num_slots
            self.dim_z = self.z_chunk * self.num_slots
        else:
            self.num_slots, self.z_chunk, self.dim_z = 1, 0, dim_z
        ccbn_in = self.shared_dim + self.z_chunk if shared else 0
        self.shared = nn.Embedding(n_classes, self.shared_dim) if shared else None
        self.linear = BgLinear(self.dim_z // self.num_slots, self.width * 16)
        self.blocks = nn.ModuleList([nn.ModuleList([BgGBlock(self.width, self.width, n_classes, ccbn_in, bn_eps)])
                                     for _ in range(nblocks)])
        self.output_layer = nn.Sequential(BgBn(self.width), nn.ReLU(), BgConv(self.width, 3))

    def forward(self, z, labels):
        y = self.shared(labels) if self.shared is not None else labels
        if self.hier:
            zs = torch.split(z, self.z_chunk, 1)
            z = zs[0]
            ys = [torch.cat([y, item], 1) for item in zs[1:]]
        else:
            ys = [y] * len(self.blocks)
        h = self.linear(z).view(z.size(0), -1, 4, 4)
        for i, bl in enumerate(self.blocks):
            for b in bl:
                h = b(h, ys[i])
        return torch.tanh(self.output_layer(h))


class BgDBlock(nn.Module):
    def __init__(self, cin, cout, down, preact):
        super().__init__()
        self.down, self.preact = down, preact
        self.conv1, self.conv2 = BgConv(cin, cout), BgConv(cout, cout)
        self.learnable_sc = cin != cout or down
        if self.learnable_sc:
            self.conv_sc = BgConv(cin, cout, 1, 0)

    def forward(self, x):
        h = F.relu(x) if self.preact else x
        h = self.conv2(F.relu(self.conv1(h)))
        if self.down:
            h = F.avg_pool2d(h, 2)
        s = x
        if self.preact:
            if self.learnable_sc:
                s = self.conv_sc(s)
            if self.down:
                s = F.avg_pool2d(s, 2)
        else:
            if self.down:
                s = F.avg_pool2d(s, 2)
            if self.learnable_sc:
                s = self.conv_sc(s)
        return h + s


class BgD(nn.Module):
    def __init__(self, ch=64, n_classes=10):
        super().__init__()
        w = 4 * ch
        ins, downs = [3, w, w, w], [True, True, False, False]
        self.blocks = nn.ModuleList([nn.ModuleList([BgDBlock(ins[i], w, downs[i], i > 0)]) for i in range(4)])
        self.linear = BgLinear(w, 1)
        self.embed = BgEmbedding(n_classes, w)

    def forward(self, x, y):
        h = x
        for bl in self.blocks:
            for b in bl:
                h = b(h)
        h = torch.sum(F.relu(h), [2, 3])
        return self.linear(h) + torch.sum(self.embed(y) * h, 1, keepdim=True)


def biggan_init(model, style):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            if style == 'N02':
                nn.init.normal_(m.weight, 0, 0.02)
            elif style == 'ortho':
                nn.init.orthogonal_(m.weight)


def biggan_to_nova(state, prefix):
    """BigGAN's names and SN state -> nova's (models/biggan.h)."""
    out = {}
    sn_layers = {k[:-len('.u0')] for k in state if k.endswith('.u0')}
    for k, t in state.items():
        key = k.replace('.0.', '.', 1) if k.startswith('blocks.') else k  # ModuleList of ModuleLists
        base, leaf = key.rsplit('.', 1)
        if k.rsplit('.', 1)[0] in sn_layers:
            if leaf == 'weight':
                out[base + '.weight_orig'] = t
                rows = t.shape[0]
                cols = t.numel() // rows
                v = torch.randn(cols, dtype=t.dtype)
                out[base + '.weight_v'] = v / v.norm()  # unused by a training forward
                continue
            if leaf == 'u0':
                out[base + '.weight_u'] = t.reshape(-1)
                continue
            if leaf == 'sv0':
                continue
        if leaf in ('stored_mean', 'stored_var'):
            stat = 'running_mean' if leaf == 'stored_mean' else 'running_var'
            if base.startswith('output_layer'):
                out[base + '.' + stat] = t
                out.setdefault(base + '.num_batches_tracked', torch.tensor(0, dtype=torch.int64))
            else:  # ccbn: nova's ConditionalBatchNorm2d "norm" holds a BatchNorm2d "bn"
                out[base + '.norm.bn.' + stat] = t
                out.setdefault(base + '.norm.bn.num_batches_tracked', torch.tensor(0, dtype=torch.int64))
            continue
        if base.startswith('output_layer.0'):
            leaf = {'gain': 'weight', 'bias': 'bias'}[leaf]
        out[base + '.' + leaf] = t
    return {prefix + k: v for k, v in out.items()}


# ---------------------------------------------------------------- helpers
# state compared after the training forward (BN statistics, SN vectors)
AUTOGAN_AFTER = ['G.to_rgb.0.running_mean', 'G.to_rgb.0.running_var', 'G.to_rgb.0.num_batches_tracked',
                 'D.block1.c1.weight_u', 'D.block1.c1.weight_v', 'D.block3.c2.weight_u', 'D.l5.weight_u',
                 'D.l5.weight_v']
BIGGAN_AFTER = ['G.blocks.0.bn1.norm.bn.running_mean', 'G.blocks.2.bn2.norm.bn.running_var',
                'G.output_layer.0.running_mean', 'G.output_layer.0.running_var', 'G.linear.weight_u',
                'G.blocks.1.conv_sc.weight_u', 'D.blocks.0.conv1.weight_u', 'D.embed.weight_u', 'D.linear.weight_u']


def count(model):
    return sum(p.numel() for p in model.parameters())


def round_to_f32(model):
    """Rounds every floating parameter and buffer to float32 values, then
    makes the model float64: the file stores float32, both sides compute in
    float64 from the same numbers."""
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            if t.is_floating_point():
                t.copy_(t.float().double() if t.dtype == torch.float64 else t.float())
    model.double()


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    names = {torch.float32: 'F32', torch.float64: 'F64', torch.int64: 'I64'}
    for name, t in tensors.items():
        t = t.detach().contiguous()
        if t.dtype == torch.float64 and not name.startswith(('expected.', 'input.', 'after.')):
            t = t.float()  # weights and buffers: float32 values (exact, see round_to_f32)
        raw = bytes(t.reshape(-1).view(torch.uint8).tolist())
        header[name] = {'dtype': names[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    print(f'wrote {path}: {os.path.getsize(path)} bytes')


def main():
    torch.manual_seed(0)
    print('AutoGAN G (gf_dim 256, z 128):', count(AgG()))
    print('AutoGAN D (df_dim 128, SN):', count(AgD()))
    print('BigGAN G (CIFAR, G_ch 64):', count(BgG()))
    print('BigGAN D (CIFAR, D_ch 64):', count(BgD()))
    print('BigGAN G shared:', count(BgG(shared=True)))
    print('BigGAN G shared + hier:', count(BgG(shared=True, hier=True)))

    # AutoGAN at reduced width, training mode, float64
    torch.manual_seed(1)
    g, d = AgG(z=32, g=16), AgD(d=16)
    g.apply(autogan_init)
    d.apply(autogan_init)
    round_to_f32(g)
    round_to_f32(d)
    z = torch.randn(3, 32, dtype=torch.float64)
    state = {'G.' + k: v.clone() for k, v in g.state_dict().items()}
    state.update({'D.' + k: v.clone() for k, v in d.state_dict().items()})
    img = g(z)
    score = d(img.detach())
    state['input.z'] = z
    state['expected.G'] = img
    state['expected.D'] = score
    # the state the training forward left: BN statistics, SN's u and v
    after = {'G.' + k: v for k, v in g.state_dict().items()}
    after.update({'D.' + k: v for k, v in d.state_dict().items()})
    for k in AUTOGAN_AFTER:
        state['after.' + k] = after[k].clone()
    d.eval()  # eval: the stored u and v as they are, as nova
    state['expected.D_eval'] = d(img.detach())
    write_safetensors(os.path.join(HERE, 'autogan_ref.safetensors'), state)

    # BigGAN at reduced width (G_ch = D_ch = 4: 16 channels), N02 init, training mode
    torch.manual_seed(2)
    g, d = BgG(ch=4, dim_z=32), BgD(ch=4)
    biggan_init(g, 'N02')
    biggan_init(d, 'N02')
    round_to_f32(g)
    round_to_f32(d)
    z = torch.randn(3, 32, dtype=torch.float64)
    labels = torch.tensor([3, 7, 3], dtype=torch.int64)
    state = biggan_to_nova(g.state_dict(), 'G.')
    state.update(biggan_to_nova(d.state_dict(), 'D.'))
    state = {k: v.clone() for k, v in state.items()}
    img = g(z, labels)
    score = d(img.detach(), labels)
    state['input.z'] = z
    state['input.labels'] = labels
    state['expected.G'] = img
    state['expected.D'] = score
    after = biggan_to_nova(g.state_dict(), 'G.')
    after.update(biggan_to_nova(d.state_dict(), 'D.'))
    for k in BIGGAN_AFTER:
        state['after.' + k] = after[k].clone()
    write_safetensors(os.path.join(HERE, 'biggan_ref.safetensors'), state)

    # BigGAN G with the shared embedding and the hierarchical latent (G_ch 2)
    torch.manual_seed(3)
    g = BgG(ch=2, dim_z=32, shared=True, hier=True)
    biggan_init(g, 'N02')
    round_to_f32(g)
    state = {k: v.clone() for k, v in biggan_to_nova(g.state_dict(), 'G.').items()}
    state['input.z'] = z
    state['input.labels'] = labels
    state['expected.G'] = g(z, labels)
    write_safetensors(os.path.join(HERE, 'biggan_hier_ref.safetensors'), state)


if __name__ == '__main__':
    main()
