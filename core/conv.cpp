// core/conv.cpp: checks, dispatch and autograd of conv2d, conv_transpose2d and
// conv2d_backward_filter (kernels/conv.h has the formula and the geometry).
//
// One convolution geometry (x [N, C, H, W], w [K, C/groups, R, S], y [N, K, P, Q])
// has three linear maps, each bilinear in its two tensor inputs and each the
// adjoint of another in one argument:
//   F(x, w)   = conv2d                        -> y       (kernel conv2d_forward)
//   D(gy, w)  = conv_transpose2d              -> x shape (kernel conv2d_backward_data)
//   Fl(x, gy) = conv2d_backward_filter        -> w shape (kernel conv2d_backward_filter)
// with <F(x, w), gy> = <x, D(gy, w)> = <w, Fl(x, gy)>. Every derivative is one
// of the three, so each backward is made of these same recorded ops and
// create_graph can differentiate it again (gradient penalties):
//   node              input   gradient (h = incoming gradient, shaped like the output)
//   F(x, w) + b       x       D(h, w)          [N, K, P, Q] -> [N, C, H, W]
//                     w       Fl(x, h)         -> [K, C/groups, R, S]
//                     b       sum_{n,p,q} h    -> [K]
//   D(gy, w) + b      gy      F(h, w)          [N, C, H, W] -> [N, K, P, Q]
//                     w       Fl(h, gy)        -> [K, C/groups, R, S]
//                     b       sum_{n,h,w} h    -> [C]
//   Fl(x, gy)         x       D(gy, h)         -> [N, C, H, W]
//                     gy      F(x, h)          -> [N, K, P, Q]
// Saved: the two tensor inputs of each node (no output). conv2d with a fused
// activation (Conv2dArgs::activation) is its own node, act(F(x, w) + b)
// ("conv2d_fused", which also saves its output): its backward multiplies h by
// act' read from the output's sign, then applies F's rules; plain conv2d
// calls never reach it. conv_transpose2d(x,
// w) with PyTorch's weight layout [C_in, C_out/groups, kH, kW] is D for the
// conv2d geometry whose input is conv_transpose2d's output (C = C_out, H =
// H_out) and whose output is its input (K = C_in, P = H_in).
//
// grad_split (core/grad_split.h): F and D are row-local (image n of the output
// reads only image n of x / gy, and the weight every image shares); their
// grouped rule gives w's and b's gradients per group of images, Fl and the
// per-channel sum over each group's rows. A weight computed from parameters
// (spectral norm) then takes its per-group gradient back through its own
// nodes once per group; a weight computed from the batch is caught there,
// since its nodes would receive both per-group and batch gradients.
#include "core/conv.h"

#include <algorithm>
#include <atomic>
#include <vector>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/reduce.h"
#include "core/segment.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/conv.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

/// Floating-point operations of a convolution pass (the trace's GFLOP/s): each
/// element of `big` (the output, or the output's gradient) takes one
/// multiply-add per weight of one output channel.
double conv_flops(const Tensor& big, const Tensor& weight) {
  return 2.0 * double(big.numel()) * double(weight.numel() / std::max<int64_t>(weight.size(0), 1));
}

/// A workspace for `pass` on x's device and dtype, or an undefined tensor
/// when the back end needs none.
Tensor workspace_for(const Conv2dGeometry& g, ConvPass pass, const Tensor& like) {
  const int64_t n = like.is_cuda() ? cuda::conv2d_workspace(g, pass) : cpu::conv2d_workspace(g, pass);
  return n > 0 ? empty({n}, like.dtype(), like.device()) : Tensor();
}

/// A contiguous, graph-free copy (or the tensor itself) for a kernel to read.
Tensor for_kernel(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }

/// Whether a pass on `t`'s device runs on cuDNN: t is on CUDA, the geometry
/// asks for cuDNN, and (P, Q) is the full output of (H, W), which cuDNN's
/// descriptors imply (kernels/conv.def). A shortened output (conv_transpose2d
/// with output_padding >= stride, conv2d_backward_filter with a shorter
/// grad_y, and the passes of their gradients) runs on nova's kernels.
bool runs_on_cudnn(const Tensor& t, const Conv2dGeometry& g) {
  return t.is_cuda() && g.cudnn && g.has_full_output();
}

Tensor forward_node(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dGeometry g);
Tensor data_node(const Tensor& gy, const Tensor& w, const Tensor& b, Conv2dGeometry g);
Tensor filter_node(const Tensor& x, const Tensor& gy, Conv2dGeometry g);
Tensor fused_node(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dGeometry g, const ConvEpilogue& e);

/// Gradients of inputs 1 (w) and 2 (b) per group of images, [groups, *w
/// shape] and [groups, bias size], for grad_split's grouped rules.
/// filter(start, rows) is w's gradient from images start .. start+rows-1.
template <typename Filter>
Grads grouped_weight_and_bias(const BackwardCtx& c, const std::vector<int64_t>& groups, Filter&& filter) {
  Grads grads(3);
  if (c.needs(1)) {
    std::vector<Tensor> per_group;
    int64_t start = 0;
    for (int64_t rows : groups) {
      per_group.push_back(filter(start, rows));
      start += rows;
    }
    grads[1] = stack(per_group, 0);
  }
  if (c.needs(2)) grads[2] = sum(segment_sum(c.grad, groups), {2, 3});  // [K_groups, channels]
  return grads;
}

/// F(x, w) + b, recorded as "conv2d".
Tensor forward_node(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dGeometry g) {
  g.N = x.size(0);
  Tensor y = empty({g.N, g.K, g.P, g.Q}, x.dtype(), x.device());
  {
    Tensor xc = for_kernel(x), wc = for_kernel(w), bc = for_kernel(b);
    if (runs_on_cudnn(x, g)) {
      trace::KernelRun kernel_run("conv2d", {&xc, &wc, &bc}, {&y}, "cuDNN", conv_flops(y, wc));
      cuda::conv2d_forward_cudnn(g, xc, wc, bc, y);
    } else {
      Tensor ws = workspace_for(g, ConvPass::kForward, x);
      trace::KernelRun kernel_run("conv2d", {&xc, &wc, &bc}, {&y},
                                  x.is_cuda() ? "nova implicit GEMM" : "im2col + GEMM", conv_flops(y, wc));
      switch (x.device().type) {
        case DeviceType::CPU: cpu::conv2d_forward(g, xc, wc, bc, y, ws, ConvEpilogue()); break;
        case DeviceType::CUDA: cuda::conv2d_forward(g, xc, wc, bc, y, ws, ConvEpilogue()); break;
      }
      kernel_run.finish();
    }
  }
  if (autograd::any_requires_grad({&x, &w, &b})) {
    auto backward = [x, w, g](const BackwardCtx& c) {
      Grads grads(3);
      if (c.needs(0)) grads[0] = data_node(c.grad, w, {}, g);  // D(h, w)
      if (c.needs(1)) grads[1] = filter_node(x, c.grad, g);    // Fl(x, h)
      if (c.needs(2)) grads[2] = sum(c.grad, {0, 2, 3});
      return grads;
    };
    auto grouped = [x, g](const BackwardCtx& c, const std::vector<int64_t>& groups) {
      return grouped_weight_and_bias(c, groups, [&](int64_t start, int64_t rows) {
        return filter_node(narrow(x, 0, start, rows), narrow(c.grad, 0, start, rows), g);
      });
    };
    record("conv2d", {x, w, b}, y, std::move(backward),
           NodeOptions().row_local().grouped({1, 2}, std::move(grouped)).saves("x, weight"));
  }
  return y;
}

/// act(F(x, w) + b) with the activation fused into the kernel (e names one),
/// recorded as "conv2d_fused". Its backward first turns the incoming
/// gradient into the pre-activation's, h' = h * act'(output), with the mask
/// read from the saved output (for slope >= 0, output > 0 exactly where
/// conv + bias > 0, see ConvEpilogue), the same ops as ops::relu's and
/// ops::leaky_relu's backward; then F's rules with h'. Every step is an op,
/// so create_graph works (the mask is piecewise constant).
Tensor fused_node(const Tensor& x, const Tensor& w, const Tensor& b, Conv2dGeometry g, const ConvEpilogue& e) {
  g.N = x.size(0);
  Tensor y = empty({g.N, g.K, g.P, g.Q}, x.dtype(), x.device());
  {
    NoGradGuard no_grad;
    Tensor xc = for_kernel(x), wc = for_kernel(w), bc = for_kernel(b);
    if (runs_on_cudnn(x, g)) {
      // nova's cuDNN path has no fused epilogue: the activation as its own pass
      trace::KernelRun kernel_run("conv2d", {&xc, &wc, &bc}, {&y}, "cuDNN", conv_flops(y, wc));
      cuda::conv2d_forward_cudnn(g, xc, wc, bc, y);
      y = e.activation == ConvEpilogue::Activation::relu ? relu(y) : leaky_relu(y, e.slope);
    } else {
      Tensor ws = workspace_for(g, ConvPass::kForward, x);
      trace::KernelRun kernel_run("conv2d (fused epilogue)", {&xc, &wc, &bc}, {&y},
                                  x.is_cuda() ? "nova implicit GEMM" : "im2col + GEMM", conv_flops(y, wc));
      switch (x.device().type) {
        case DeviceType::CPU: cpu::conv2d_forward(g, xc, wc, bc, y, ws, e); break;
        case DeviceType::CUDA: cuda::conv2d_forward(g, xc, wc, bc, y, ws, e); break;
      }
      kernel_run.finish();
    }
  }
  if (autograd::any_requires_grad({&x, &w, &b})) {
    // h' from h and the output (BackwardCtx::out)
    auto pre_activation = [e](const BackwardCtx& c) {
      return relu_backward(c.grad, c.out, e.activation == ConvEpilogue::Activation::relu ? 0.0 : e.slope);
    };
    auto backward = [x, w, g, pre_activation](const BackwardCtx& c) {
      const Tensor h = pre_activation(c);
      Grads grads(3);
      if (c.needs(0)) grads[0] = data_node(h, w, {}, g);
      if (c.needs(1)) grads[1] = filter_node(x, h, g);
      if (c.needs(2)) grads[2] = sum(h, {0, 2, 3});
      return grads;
    };
    auto grouped = [x, g, pre_activation](const BackwardCtx& c, const std::vector<int64_t>& groups) {
      const Tensor h = pre_activation(c);
      const BackwardCtx pre{h, c.out, c.needs_mask};
      return grouped_weight_and_bias(pre, groups, [&](int64_t start, int64_t rows) {
        return filter_node(narrow(x, 0, start, rows), narrow(h, 0, start, rows), g);
      });
    };
    record("conv2d_fused", {x, w, b}, y, std::move(backward),
           NodeOptions().save_output().row_local().grouped({1, 2}, std::move(grouped)).saves("x, weight"));
  }
  return y;
}

/// D(gy, w) + b, recorded as "conv_transpose2d".
Tensor data_node(const Tensor& gy, const Tensor& w, const Tensor& b, Conv2dGeometry g) {
  g.N = gy.size(0);
  Tensor gx = empty({g.N, g.C, g.H, g.W}, gy.dtype(), gy.device());
  {
    NoGradGuard no_grad;
    Tensor gyc = for_kernel(gy), wc = for_kernel(w);
    if (runs_on_cudnn(gy, g)) {
      trace::KernelRun kernel_run("conv2d_backward_data", {&gyc, &wc}, {&gx}, "cuDNN", conv_flops(gyc, wc));
      cuda::conv2d_backward_data_cudnn(g, gyc, wc, gx);
    } else {
      Tensor ws = workspace_for(g, ConvPass::kBackwardData, gy);
      trace::KernelRun kernel_run("conv2d_backward_data", {&gyc, &wc}, {&gx},
                                  gy.is_cuda() ? "nova implicit GEMM" : "GEMM + col2im", conv_flops(gyc, wc));
      switch (gy.device().type) {
        case DeviceType::CPU: cpu::conv2d_backward_data(g, gyc, wc, gx, ws); break;
        case DeviceType::CUDA: cuda::conv2d_backward_data(g, gyc, wc, gx, ws); break;
      }
      kernel_run.finish();
    }
    if (b.defined()) gx.add_(reshape(b.detach(), {1, g.C, 1, 1}));
  }
  if (autograd::any_requires_grad({&gy, &w, &b})) {
    auto backward = [gy, w, g](const BackwardCtx& c) {
      Grads grads(3);
      if (c.needs(0)) grads[0] = forward_node(c.grad, w, {}, g);  // F(h, w)
      if (c.needs(1)) grads[1] = filter_node(c.grad, gy, g);      // Fl(h, gy)
      if (c.needs(2)) grads[2] = sum(c.grad, {0, 2, 3});
      return grads;
    };
    auto grouped = [gy, g](const BackwardCtx& c, const std::vector<int64_t>& groups) {
      return grouped_weight_and_bias(c, groups, [&](int64_t start, int64_t rows) {
        return filter_node(narrow(c.grad, 0, start, rows), narrow(gy, 0, start, rows), g);
      });
    };
    record("conv_transpose2d", {gy, w, b}, gx, std::move(backward),
           NodeOptions().row_local().grouped({1, 2}, std::move(grouped)).saves("x, weight"));
  }
  return gx;
}

/// Fl(x, gy), recorded as "conv2d_backward_filter". It sums over the batch,
/// so it is not row-local.
Tensor filter_node(const Tensor& x, const Tensor& gy, Conv2dGeometry g) {
  g.N = x.size(0);
  Tensor gw = empty({g.K, g.group_channels(), g.R, g.S}, x.dtype(), x.device());
  {
    Tensor xc = for_kernel(x), gyc = for_kernel(gy);
    if (runs_on_cudnn(x, g)) {
      trace::KernelRun kernel_run("conv2d_backward_filter", {&xc, &gyc}, {&gw}, "cuDNN", conv_flops(gyc, gw));
      cuda::conv2d_backward_filter_cudnn(g, xc, gyc, gw);
    } else {
      Tensor ws = workspace_for(g, ConvPass::kBackwardFilter, x);
      trace::KernelRun kernel_run("conv2d_backward_filter", {&xc, &gyc}, {&gw},
                                  x.is_cuda() ? "nova implicit GEMM" : "im2col + GEMM", conv_flops(gyc, gw));
      switch (x.device().type) {
        case DeviceType::CPU: cpu::conv2d_backward_filter(g, xc, gyc, gw, ws); break;
        case DeviceType::CUDA: cuda::conv2d_backward_filter(g, xc, gyc, gw, ws); break;
      }
      kernel_run.finish();
    }
  }
  if (autograd::any_requires_grad({&x, &gy})) {
    record("conv2d_backward_filter", {x, gy}, gw, [x, gy, g](const BackwardCtx& c) {
      Grads grads(2);
      if (c.needs(0)) grads[0] = data_node(gy, c.grad, {}, g);    // D(gy, h)
      if (c.needs(1)) grads[1] = forward_node(x, c.grad, {}, g);  // F(x, h)
      return grads;
    }, NodeOptions().saves("x, grad_y"));
  }
  return gw;
}

/// The settings every convolution shares, checked.
void check_settings(const char* op, Pair2d stride, Pair2d padding, Pair2d dilation, int64_t groups) {
  NOVA_CHECK(stride.h >= 1 && stride.w >= 1, "{}: stride must be >= 1, got ({}, {})", op, stride.h, stride.w);
  NOVA_CHECK(padding.h >= 0 && padding.w >= 0, "{}: padding must be >= 0, got ({}, {})", op, padding.h,
             padding.w);
  NOVA_CHECK(dilation.h >= 1 && dilation.w >= 1, "{}: dilation must be >= 1, got ({}, {})", op, dilation.h,
             dilation.w);
  NOVA_CHECK(groups >= 1, "{}: groups must be >= 1, got {}", op, groups);
}

/// Input, weight and bias: defined where needed, 4-D, one floating dtype, one device.
void check_operands(const char* op, const Tensor& x, const Tensor& w, const Tensor& b, const char* x_layout,
                    const char* w_layout) {
  check_defined(op, x);
  check_defined(op, w, "weight");
  check_same_device(op, {&x, &w, &b});
  check_floating(op, x);
  check_same_dtype(op, x, w);
  if (b.defined()) check_same_dtype(op, x, b);
  NOVA_CHECK(x.dim() == 4, "{}: input must be 4-D {}, got {}", op, x_layout, x.shape().str());
  NOVA_CHECK(w.dim() == 4, "{}: weight must be 4-D {}, got {}", op, w_layout, w.shape().str());
}

/// The conv2d geometry of x [N, C, H, W] and a weight [K, C/groups, R, S]
/// (all but P and Q, which the caller sets), with the channel checks.
Conv2dGeometry conv2d_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dArgs& a) {
  check_settings(op, a.stride_hw, a.padding_hw, a.dilation_hw, a.group_count);
  Conv2dGeometry g;
  g.N = x[0], g.C = x[1], g.H = x[2], g.W = x[3];
  g.K = w[0], g.R = w[2], g.S = w[3];
  g.stride_h = a.stride_hw.h, g.stride_w = a.stride_hw.w;
  g.pad_h = a.padding_hw.h, g.pad_w = a.padding_hw.w;
  g.dil_h = a.dilation_hw.h, g.dil_w = a.dilation_hw.w;
  g.groups = a.group_count;
  g.cudnn = a.backend_choice.value_or(conv_backend()) == ConvBackend::cudnn;
  NOVA_CHECK(g.C % g.groups == 0, "{}: groups {} must divide the input's {} channels (input {})", op, g.groups,
             g.C, x.str());
  NOVA_CHECK(g.K % g.groups == 0, "{}: groups {} must divide the {} output channels (weight {})", op, g.groups,
             g.K, w.str());
  NOVA_CHECK(w[1] * g.groups == g.C,
             "{}: weight {} with groups {} expects {} input channels, input {} has {}", op, w.str(), g.groups,
             w[1] * g.groups, x.str(), g.C);
  return g;
}

/// The message for an output too small to exist.
void check_output_size(const char* op, const Shape& out, const Shape& x, const Shape& w, Pair2d padding,
                       Pair2d dilation) {
  NOVA_CHECK(out[2] > 0 && out[3] > 0,
             "{}: output size {} is not positive: input {} with padding ({}, {}) is smaller than the kernel {} "
             "at dilation ({}, {})",
             op, out.str(), x.str(), padding.h, padding.w, w.str(), dilation.h, dilation.w);
}

}  // namespace

int64_t conv2d_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
  const int64_t span = in + 2 * padding - dilation * (kernel - 1) - 1;
  // floor division: a negative span gives an output size <= 0
  return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
}

int64_t conv_transpose2d_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t padding,
                                     int64_t output_padding, int64_t dilation) {
  return (in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dArgs& args) {
  const char* op = "conv2d";
  check_operands(op, x, weight, bias, "[N, C_in, H, W]", "[C_out, C_in/groups, kH, kW]");
  Conv2dGeometry g = conv2d_geometry(op, x.shape(), weight.shape(), args);
  if (bias.defined())
    NOVA_CHECK(bias.dim() == 1 && bias.size(0) == g.K, "conv2d: bias must be [{}], got {}", g.K,
               bias.shape().str());
  g.P = conv2d_output_size(g.H, g.R, g.stride_h, g.pad_h, g.dil_h);
  g.Q = conv2d_output_size(g.W, g.S, g.stride_w, g.pad_w, g.dil_w);
  check_output_size(op, Shape{g.N, g.K, g.P, g.Q}, x.shape(), weight.shape(), args.padding_hw,
                    args.dilation_hw);
  if (args.activation_kind == ConvActivation::none) return forward_node(x, weight, bias, g);
  ConvEpilogue e;
  e.activation = args.activation_kind == ConvActivation::relu ? ConvEpilogue::Activation::relu
                                                              : ConvEpilogue::Activation::leaky_relu;
  if (e.activation == ConvEpilogue::Activation::leaky_relu) {
    NOVA_CHECK(args.activation_slope >= 0.0,
               "conv2d: leaky_relu slope must be >= 0 (the fused backward reads its mask from the output's "
               "sign), got {}",
               args.activation_slope);
    e.slope = args.activation_slope;
  }
  return fused_node(x, weight, bias, g, e);
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Conv2dArgs& args) {
  return conv2d(x, weight, Tensor(), args);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias,
                        const ConvTranspose2dArgs& args) {
  const char* op = "conv_transpose2d";
  check_operands(op, x, weight, bias, "[N, C_in, H, W]", "[C_in, C_out/groups, kH, kW]");
  const Pair2d stride = args.stride_hw, out_pad = args.output_padding_hw, dil = args.dilation_hw;
  check_settings(op, stride, args.padding_hw, dil, args.group_count);
  NOVA_CHECK(out_pad.h >= 0 && out_pad.w >= 0 && out_pad.h < std::max(stride.h, dil.h) &&
                 out_pad.w < std::max(stride.w, dil.w),
             "conv_transpose2d: output_padding must be >= 0 and smaller than stride or dilation, got "
             "output_padding ({}, {}) with stride ({}, {}) and dilation ({}, {})",
             out_pad.h, out_pad.w, stride.h, stride.w, dil.h, dil.w);
  const int64_t groups = args.group_count;
  NOVA_CHECK(weight.size(0) == x.size(1), "conv_transpose2d: weight {} expects {} input channels, input {} has {}",
             weight.shape().str(), weight.size(0), x.shape().str(), x.size(1));
  NOVA_CHECK(x.size(1) % groups == 0, "conv_transpose2d: groups {} must divide the input's {} channels (input {})",
             groups, x.size(1), x.shape().str());
  const int64_t c_out = weight.size(1) * groups;
  if (bias.defined())
    NOVA_CHECK(bias.dim() == 1 && bias.size(0) == c_out, "conv_transpose2d: bias must be [{}], got {}", c_out,
               bias.shape().str());
  const Pair2d pad = args.padding_hw;
  const Shape out{x.size(0), c_out,
                  conv_transpose2d_output_size(x.size(2), weight.size(2), stride.h, pad.h, out_pad.h, dil.h),
                  conv_transpose2d_output_size(x.size(3), weight.size(3), stride.w, pad.w, out_pad.w, dil.w)};
  check_output_size(op, out, x.shape(), weight.shape(), pad, dil);
  // the conv2d geometry this is the adjoint of: its input is our output
  Conv2dArgs conv = Conv2dArgs().stride(stride.h, stride.w).padding(pad.h, pad.w).dilation(dil.h, dil.w);
  conv.backend_choice = args.backend_choice;
  Conv2dGeometry g = conv2d_geometry(op, out, weight.shape(), conv.groups(groups));
  g.P = x.size(2);
  g.Q = x.size(3);
  return data_node(x, weight, bias, g);
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const ConvTranspose2dArgs& args) {
  return conv_transpose2d(x, weight, Tensor(), args);
}

Tensor conv2d_backward_filter(const Tensor& x, const Tensor& grad_y, const Shape& weight_shape,
                              const Conv2dArgs& args) {
  const char* op = "conv2d_backward_filter";
  check_defined(op, x);
  check_defined(op, grad_y, "grad_y");
  check_same_device(op, {&x, &grad_y});
  check_floating(op, x);
  check_same_dtype(op, x, grad_y);
  NOVA_CHECK(x.dim() == 4, "{}: input must be 4-D [N, C_in, H, W], got {}", op, x.shape().str());
  NOVA_CHECK(grad_y.dim() == 4, "{}: grad_y must be 4-D [N, C_out, H_out, W_out], got {}", op,
             grad_y.shape().str());
  NOVA_CHECK(weight_shape.size() == 4,
             "{}: weight_shape must be 4-D [C_out, C_in/groups, kH, kW], got {}", op, weight_shape.str());
  Conv2dGeometry g = conv2d_geometry(op, x.shape(), weight_shape, args);
  const int64_t P = conv2d_output_size(g.H, g.R, g.stride_h, g.pad_h, g.dil_h);
  const int64_t Q = conv2d_output_size(g.W, g.S, g.stride_w, g.pad_w, g.dil_w);
  NOVA_CHECK(grad_y.size(0) == g.N && grad_y.size(1) == g.K && grad_y.size(2) <= P && grad_y.size(3) <= Q,
             "{}: grad_y must be [{}, {}, <= {}, <= {}] for input {} and weight {}, got {}", op, g.N, g.K, P, Q,
             x.shape().str(), weight_shape.str(), grad_y.shape().str());
  g.P = grad_y.size(2);
  g.Q = grad_y.size(3);
  return filter_node(x, grad_y, g);
}

}  // namespace nova::ops

namespace nova {

namespace {
std::atomic<ConvBackend> g_conv_backend{ConvBackend::native};
}  // namespace

void set_conv_backend(ConvBackend backend) { g_conv_backend = backend; }
ConvBackend conv_backend() { return g_conv_backend; }

}  // namespace nova
