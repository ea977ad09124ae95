// core/symconv.cpp: checks, dispatch and autograd of SCNN's symmetric
// convolutions (kernels/symconv.h has the formulas and the packed layout).
//
// Each convolution, like conv2d (core/conv.cpp), is one of three bilinear
// maps adjoint to each other; every derivative is one of the three, so each
// backward is made of these same recorded ops and create_graph can
// differentiate it again:
//   F(x, w)   forward          -> y   [N, F, T']
//   D(gy, w)  backward_data    -> x's shape ([N, m, T] or [N, L, n])
//   Fl(x, gy) backward_filter  -> w's shape [P, Cin, F]
// with <F(x, w), gy> = <x, D(gy, w)> = <w, Fl(x, gy)>:
//   node       input   gradient (h = incoming gradient)
//   F(x,w)+b   x       D(h, w)
//              w       Fl(x, h)      (Theorem 7 / (4.11) in R's or S's layout)
//              b       sum_{n,t'} h  [F]
//   D(gy, w)   gy      F(h, w)
//              w       Fl(h, gy)
//   Fl(x, gy)  x       D(gy, h)
//              gy      F(x, h)
// Saved: the two tensor inputs of each node. A packed operand's gradient is
// the gradient with respect to its packed entries: an off-diagonal entry
// stands for two positions of the map, and its gradient counts both (which
// is what sym_unpack's gradient does when a loss reads the full map).
//
// grad_split: F and D are row-local (image n reads only image n of x), with
// the weight's and the bias's gradients per group of images.
//
// sym_pack, sym_unpack, the full kernels W(S), Q(R) and the self-Cartesian
// product are index_select / permute / cat of existing ops: no kernels of
// their own, differentiable through those ops.
#include "core/symconv.h"

#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/reduce.h"
#include "core/segment.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/symconv.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

enum class SymKind { generating, preserving };

/// One symmetric convolution: which one, and its geometry (N set per call).
struct SymConv {
  SymKind kind;
  SymConvGeometry g;

  const char* name() const {
    return kind == SymKind::generating ? "sym_generating_conv2d" : "sym_preserving_conv2d";
  }
  /// x's shape for a batch of N: [N, L, n] or [N, m, T].
  Shape x_shape(int64_t N) const {
    return kind == SymKind::generating ? Shape{N, g.L, g.Cin} : Shape{N, g.Cin, g.in_entries()};
  }
  /// Multiply-adds of a pass, times 2 (the trace's GFLOP/s).
  double flops() const {
    const double per_image = kind == SymKind::generating ? double(g.L * g.Cin * g.F * g.pairs())
                                                         : double(g.out_entries() * g.F * g.pairs() * g.Cin);
    return 2.0 * double(g.N) * per_image;
  }
};

Tensor for_kernel(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }

Tensor workspace_for(const SymConv& op, SymConvPass pass, const Tensor& like) {
  int64_t n = 0;
  if (op.kind == SymKind::generating)
    n = like.is_cuda() ? cuda::sym_generating_conv2d_workspace(op.g, pass)
                       : cpu::sym_generating_conv2d_workspace(op.g, pass);
  else
    n = like.is_cuda() ? cuda::sym_preserving_conv2d_workspace(op.g, pass)
                       : cpu::sym_preserving_conv2d_workspace(op.g, pass);
  return n > 0 ? empty({n}, like.dtype(), like.device()) : Tensor();
}

Tensor forward_node(const Tensor& x, const Tensor& w, const Tensor& b, SymConv op);
Tensor data_node(const Tensor& gy, const Tensor& w, SymConv op);
Tensor filter_node(const Tensor& x, const Tensor& gy, SymConv op);

/// Fl(x_k, gy_k) for each group k of images, stacked: [K, P, Cin, F].
Tensor filter_per_group(const Tensor& x, const Tensor& gy, const std::vector<int64_t>& groups, const SymConv& op) {
  std::vector<Tensor> per_group;
  int64_t start = 0;
  for (int64_t rows : groups) {
    per_group.push_back(filter_node(narrow(x, 0, start, rows), narrow(gy, 0, start, rows), op));
    start += rows;
  }
  return stack(per_group, 0);
}

/// F(x, w) + b.
Tensor forward_node(const Tensor& x, const Tensor& w, const Tensor& b, SymConv op) {
  op.g.N = x.size(0);
  const SymConvGeometry& g = op.g;
  Tensor y = empty({g.N, g.F, g.out_entries()}, x.dtype(), x.device());
  {
    Tensor xc = for_kernel(x), wc = for_kernel(w), bc = for_kernel(b);
    Tensor ws = workspace_for(op, SymConvPass::kForward, x);
    const bool gen = op.kind == SymKind::generating;
    trace::KernelRun kernel_run(op.name(), {&xc, &wc, &bc}, {&y},
                                x.is_cuda() ? "nova direct" : gen ? "GEMM + taps" : "folded columns + GEMM",
                                op.flops());
    switch (x.device().type) {
      case DeviceType::CPU:
        gen ? cpu::sym_generating_conv2d_forward(g, xc, wc, bc, y, ws)
            : cpu::sym_preserving_conv2d_forward(g, xc, wc, bc, y, ws);
        break;
      case DeviceType::CUDA:
        gen ? cuda::sym_generating_conv2d_forward(g, xc, wc, bc, y, ws)
            : cuda::sym_preserving_conv2d_forward(g, xc, wc, bc, y, ws);
        break;
    }
    kernel_run.finish();
  }
  if (autograd::any_requires_grad({&x, &w, &b})) {
    auto backward = [x, w, op](const BackwardCtx& c) {
      Grads grads(3);
      if (c.needs(0)) grads[0] = data_node(c.grad, w, op);    // D(h, w)
      if (c.needs(1)) grads[1] = filter_node(x, c.grad, op);  // Fl(x, h)
      if (c.needs(2)) grads[2] = sum(c.grad, {0, 2});
      return grads;
    };
    auto grouped = [x, op](const BackwardCtx& c, const std::vector<int64_t>& groups) {
      Grads grads(3);
      if (c.needs(1)) grads[1] = filter_per_group(x, c.grad, groups, op);
      if (c.needs(2)) grads[2] = sum(segment_sum(c.grad, groups), {2});  // [K, F]
      return grads;
    };
    record(op.name(), {x, w, b}, y, std::move(backward),
           NodeOptions().row_local().grouped({1, 2}, std::move(grouped)).saves("x, weight"));
  }
  return y;
}

/// D(gy, w): the adjoint of F in x.
Tensor data_node(const Tensor& gy, const Tensor& w, SymConv op) {
  op.g.N = gy.size(0);
  const SymConvGeometry& g = op.g;
  Tensor gx = empty(op.x_shape(g.N), gy.dtype(), gy.device());
  const std::string name = std::string(op.name()) + "_backward_data";
  {
    NoGradGuard no_grad;
    Tensor gyc = for_kernel(gy), wc = for_kernel(w);
    Tensor ws = workspace_for(op, SymConvPass::kBackwardData, gy);
    const bool gen = op.kind == SymKind::generating;
    trace::KernelRun kernel_run(name.c_str(), {&gyc, &wc}, {&gx}, gy.is_cuda() ? "nova direct" : "GEMM",
                                op.flops());
    switch (gy.device().type) {
      case DeviceType::CPU:
        gen ? cpu::sym_generating_conv2d_backward_data(g, gyc, wc, gx, ws)
            : cpu::sym_preserving_conv2d_backward_data(g, gyc, wc, gx, ws);
        break;
      case DeviceType::CUDA:
        gen ? cuda::sym_generating_conv2d_backward_data(g, gyc, wc, gx, ws)
            : cuda::sym_preserving_conv2d_backward_data(g, gyc, wc, gx, ws);
        break;
    }
    kernel_run.finish();
  }
  if (autograd::any_requires_grad({&gy, &w})) {
    auto backward = [gy, w, op](const BackwardCtx& c) {
      Grads grads(2);
      if (c.needs(0)) grads[0] = forward_node(c.grad, w, {}, op);  // F(h, w)
      if (c.needs(1)) grads[1] = filter_node(c.grad, gy, op);      // Fl(h, gy)
      return grads;
    };
    auto grouped = [gy, op](const BackwardCtx& c, const std::vector<int64_t>& groups) {
      Grads grads(2);
      if (c.needs(1)) grads[1] = filter_per_group(c.grad, gy, groups, op);  // Fl(h_k, gy_k)
      return grads;
    };
    record(op.kind == SymKind::generating ? "sym_generating_conv2d_backward_data"
                                          : "sym_preserving_conv2d_backward_data",
           {gy, w}, gx, std::move(backward),
           NodeOptions().row_local().grouped({1}, std::move(grouped)).saves("grad_y, weight"));
  }
  return gx;
}

/// Fl(x, gy): the adjoint of F in w. It sums over the batch (not row-local).
Tensor filter_node(const Tensor& x, const Tensor& gy, SymConv op) {
  op.g.N = x.size(0);
  const SymConvGeometry& g = op.g;
  Tensor gw = empty({g.pairs(), g.Cin, g.F}, x.dtype(), x.device());
  const std::string name = std::string(op.name()) + "_backward_filter";
  {
    Tensor xc = for_kernel(x), gyc = for_kernel(gy);
    Tensor ws = workspace_for(op, SymConvPass::kBackwardFilter, x);
    const bool gen = op.kind == SymKind::generating;
    trace::KernelRun kernel_run(name.c_str(), {&xc, &gyc}, {&gw}, x.is_cuda() ? "nova direct" : "GEMM",
                                op.flops());
    switch (x.device().type) {
      case DeviceType::CPU:
        gen ? cpu::sym_generating_conv2d_backward_filter(g, xc, gyc, gw, ws)
            : cpu::sym_preserving_conv2d_backward_filter(g, xc, gyc, gw, ws);
        break;
      case DeviceType::CUDA:
        gen ? cuda::sym_generating_conv2d_backward_filter(g, xc, gyc, gw, ws)
            : cuda::sym_preserving_conv2d_backward_filter(g, xc, gyc, gw, ws);
        break;
    }
    kernel_run.finish();
  }
  if (autograd::any_requires_grad({&x, &gy})) {
    record(op.kind == SymKind::generating ? "sym_generating_conv2d_backward_filter"
                                          : "sym_preserving_conv2d_backward_filter",
           {x, gy}, gw,
           [x, gy, op](const BackwardCtx& c) {
             Grads grads(2);
             if (c.needs(0)) grads[0] = data_node(gy, c.grad, op);        // D(gy, h)
             if (c.needs(1)) grads[1] = forward_node(x, c.grad, {}, op);  // F(x, h)
             return grads;
           },
           NodeOptions().saves("x, grad_y"));
  }
  return gw;
}

/// The checks both convolutions share; returns the geometry (all but N's use).
SymConv make_conv(SymKind kind, const Tensor& x, const Tensor& w, const Tensor& b, int64_t padding) {
  const char* op = kind == SymKind::generating ? "sym_generating_conv2d" : "sym_preserving_conv2d";
  const char* x_layout = kind == SymKind::generating ? "[N, L, n] (a sequence)" : "[N, m, L(L+1)/2] (packed)";
  check_defined(op, x);
  check_defined(op, w, "weight");
  check_same_device(op, {&x, &w, &b});
  check_floating(op, x);
  check_same_dtype(op, x, w);
  if (b.defined()) check_same_dtype(op, x, b);
  NOVA_CHECK(x.dim() == 3, "{}: input must be 3-D {}, got {}", op, x_layout, x.shape().str());
  NOVA_CHECK(w.dim() == 3, "{}: weight must be 3-D [C(C+1)/2, {}, F], got {}", op,
             kind == SymKind::generating ? "n" : "m", w.shape().str());
  NOVA_CHECK(padding >= 0, "{}: padding must be >= 0, got {}", op, padding);
  SymConv conv{kind, {}};
  SymConvGeometry& g = conv.g;
  g.N = x.size(0);
  g.C = sym_side(op, w.size(0));
  g.F = w.size(2);
  g.pad = padding;
  if (kind == SymKind::generating) {
    g.L = x.size(1);
    g.Cin = x.size(2);
    NOVA_CHECK(w.size(1) == g.Cin, "{}: weight {} expects sequences of {} features, input {} has {}", op,
               w.shape().str(), w.size(1), x.shape().str(), g.Cin);
  } else {
    g.Cin = x.size(1);
    g.L = sym_side(op, x.size(2));
    NOVA_CHECK(w.size(1) == g.Cin, "{}: weight {} expects {} input channels, input {} has {}", op,
               w.shape().str(), w.size(1), x.shape().str(), g.Cin);
  }
  NOVA_CHECK(g.L >= 1, "{}: input {} has no positions", op, x.shape().str());
  g.Lout = g.L + 2 * padding - g.C + 1;
  NOVA_CHECK(g.Lout >= 1, "{}: a {}x{} kernel does not fit the {}x{} map with padding {} (input {})", op, g.C, g.C,
             g.L, g.L, padding, x.shape().str());
  if (b.defined())
    NOVA_CHECK(b.dim() == 1 && b.size(0) == g.F, "{}: bias must be [{}], got {}", op, g.F, b.shape().str());
  return conv;
}

/// A 1-D int64 index tensor on `device`.
Tensor index_tensor(const std::vector<int64_t>& values, Device device) {
  Tensor t = from_vector(values);
  return device.type == DeviceType::CPU ? t : t.to(device);
}

/// w [P, c, F] -> [F, c, C, C], tap (a, b) from w[tri(a, b)].
Tensor full_kernel(const char* op, const Tensor& w) {
  check_defined(op, w, "weight");
  NOVA_CHECK(w.dim() == 3, "{}: weight must be 3-D [C(C+1)/2, channels, F], got {}", op, w.shape().str());
  const int64_t C = sym_side(op, w.size(0));
  std::vector<int64_t> taps(size_t(C * C));
  for (int64_t a = 0; a < C; ++a)
    for (int64_t b = 0; b < C; ++b) taps[size_t(a * C + b)] = sym_tri(a, b);
  Tensor spread = index_select(permute(w, {2, 1, 0}), 2, index_tensor(taps, w.device()));  // [F, c, C*C]
  return reshape(spread, {w.size(2), w.size(1), C, C});
}

}  // namespace

int64_t sym_side(const char* op, int64_t entries) {
  int64_t L = 0;
  while ((L + 1) * (L + 2) / 2 <= entries) ++L;
  NOVA_CHECK(L * (L + 1) / 2 == entries && entries > 0,
             "{}: {} is not a triangle's entry count L(L+1)/2 (L = {} gives {}, L = {} gives {})", op, entries, L,
             L * (L + 1) / 2, L + 1, (L + 1) * (L + 2) / 2);
  return L;
}

Tensor sym_pack(const Tensor& full) {
  check_defined("sym_pack", full);
  NOVA_CHECK(full.dim() >= 2 && full.size(-1) == full.size(-2),
             "sym_pack: input must end in a square [.., L, L], got {}", full.shape().str());
  const int64_t L = full.size(-1), d = full.dim();
  std::vector<int64_t> lower;
  lower.reserve(size_t(L * (L + 1) / 2));
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j <= i; ++j) lower.push_back(i * L + j);
  Shape flat = full.shape();
  flat.erase(d - 1);
  flat[d - 2] = L * L;
  return index_select(reshape(full, flat), d - 2, index_tensor(lower, full.device()));
}

Tensor sym_unpack(const Tensor& packed) {
  check_defined("sym_unpack", packed);
  NOVA_CHECK(packed.dim() >= 1, "sym_unpack: input must be packed [.., L(L+1)/2], got a scalar");
  const int64_t L = sym_side("sym_unpack", packed.size(-1)), d = packed.dim();
  std::vector<int64_t> entry(size_t(L * L));
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) entry[size_t(i * L + j)] = sym_tri(i, j);
  Shape full = packed.shape();
  full[d - 1] = L;
  full.push_back(L);
  return reshape(index_select(packed, d - 1, index_tensor(entry, packed.device())), full);
}

Tensor sym_generating_conv2d(const Tensor& x, const Tensor& s, const Tensor& bias, int64_t padding) {
  return forward_node(x, s, bias, make_conv(SymKind::generating, x, s, bias, padding));
}

Tensor sym_preserving_conv2d(const Tensor& x, const Tensor& r, const Tensor& bias, int64_t padding) {
  return forward_node(x, r, bias, make_conv(SymKind::preserving, x, r, bias, padding));
}

Tensor sym_generating_kernel(const Tensor& s) {
  Tensor half = full_kernel("sym_generating_kernel", s);  // [F, n, C, C]
  return cat({half, half}, 1);
}

Tensor sym_preserving_kernel(const Tensor& r) { return full_kernel("sym_preserving_kernel", r); }

Tensor self_cartesian_product(const Tensor& x) {
  check_defined("self_cartesian_product", x);
  NOVA_CHECK(x.dim() == 3, "self_cartesian_product: input must be 3-D [N, L, n], got {}", x.shape().str());
  const int64_t N = x.size(0), L = x.size(1), n = x.size(2);
  Tensor channels = permute(x, {0, 2, 1});  // [N, n, L]
  Tensor rows = expand(reshape(channels, {N, n, L, 1}), {N, n, L, L});
  Tensor cols = expand(reshape(channels, {N, n, 1, L}), {N, n, L, L});
  return cat({rows, cols}, 1);
}

}  // namespace nova::ops
