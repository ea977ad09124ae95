// core/pool.cpp: checks, dispatch and autograd for max_pool2d, avg_pool2d,
// the global poolings and nearest / bilinear upsampling.
//
// Derivative table. Every op maps each [H, W] plane alone; g is the incoming
// gradient, shaped like the output [.., OH, OW]; grad_x is shaped like x
// [.., H, W]. Each forward is linear in x (max_pool2d piecewise, for fixed
// argmax indices), and each backward is linear in g, so it is recorded as an
// op too (a "_backward" node), whose gradient with respect to g is:
//   op                  x  dx                         g  d(g) of the backward
//   max_pool2d          max_pool2d_backward(g, idx)      gather(gg, idx)
//   avg_pool2d          avg_pool2d_backward(g)           avg_pool2d(gg)
//   upsample_nearest2d  upsample_nearest2d_backward(g)   upsample_nearest2d(gg)
//   upsample_bilinear2d upsample_bilinear2d_backward(g)  upsample_bilinear2d(gg)
// (each pair is adjoint: <A x, g> = <x, A^T g>; the max-pool pair is the
// scatter of g to the saved argmax and the gather back from it). Saved: the
// argmax indices (int64 [.., OH, OW]; no gradient flows into them) and the
// geometry. The global poolings are ops::mean / ops::sum over dims {2, 3}
// and inherit their derivatives.
//
// grad_split (core/grad_split.h): every node here is row-local, since output
// plane (n, c) reads input plane (n, c) only; no op here has parameters.
#include "core/pool.h"

#include <cmath>

#include "core/autograd.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/reduce.h"
#include "core/trace.h"
#include "kernels/pool.h"
#include "kernels/pool_math.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

/// The checked geometry of one pooling call: window and sizes.
struct PoolPlan {
  PoolWindow window;
  int64_t H, W, OH, OW;
};

/// The geometry of one upsampling call. scale_h/scale_w: the user's scale
/// factors, or 0 when the size was given (kernels/pool.def).
struct UpsamplePlan {
  int64_t H, W, OH, OW;
  double scale_h, scale_w;
};

/// shape with its last two dims replaced by (h, w).
Shape with_hw(const Shape& shape, int64_t h, int64_t w) {
  Shape s = shape;
  s[s.size() - 2] = h;
  s[s.size() - 1] = w;
  return s;
}

/// t [.., H, W] seen as contiguous planes [P, H, W] for the kernels
/// (detached: the kernel only reads the data, a copy must not join the graph).
Tensor planes(const Tensor& t) {
  const int64_t H = t.size(-2), W = t.size(-1);
  Tensor c = t.detach().contiguous();
  return c.view({H * W > 0 ? c.numel() / (H * W) : 0, H, W});
}

/// Checks x for a pooling op: defined, floating, [N, C, H, W] or [C, H, W]
/// (`batched_only`: 4-D only) with nonempty C, H, W (an empty batch is fine).
void check_image(const char* op, const Tensor& x, bool batched_only) {
  check_defined(op, x);
  check_floating(op, x);
  if (batched_only) {
    NOVA_CHECK(x.dim() == 4, "{}: input must be 4-D [N, C, H, W], got {}", op, x.shape().str());
  } else {
    NOVA_CHECK(x.dim() == 3 || x.dim() == 4,
               "{}: input must be [N, C, H, W] or [C, H, W], got {}", op, x.shape().str());
  }
  NOVA_CHECK(x.size(-3) > 0 && x.size(-2) > 0 && x.size(-1) > 0,
             "{}: input {} has an empty C, H or W dim (only the batch may be 0)", op,
             x.shape().str());
}

/// PyTorch's pooling_output_shape: windows of `span` = dilation * (kernel -
/// 1) + 1 rows every `stride` rows over the input padded on both sides;
/// ceil_mode counts a last partial window, unless it would start in the
/// right padding. 0 when not even one window fits.
int64_t pool_output_size(int64_t in, int64_t span, int64_t stride, int64_t pad, bool ceil_mode) {
  const int64_t room = in + 2 * pad - span;  // where the last window may start
  if (room < 0) return 0;
  int64_t out = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

/// With dilation, a window that starts in the padding may step over the
/// whole input (kernel 2, dilation 3, padding 1 on H = 2: rows -1 and 2).
/// PyTorch returns -inf there with an index outside the plane; nova refuses.
/// Only windows that start in the padding (o * stride < pad) can do it.
void check_windows_reach_input(const char* op, const Tensor& x, const char* what, int64_t in,
                               int64_t out, int64_t kernel, int64_t stride, int64_t pad,
                               int64_t dilation) {
  for (int64_t o = 0; o < out && o * stride < pad; ++o) {
    const pool::Range r = pool::max_window(o, in, kernel, stride, pad, dilation);
    NOVA_CHECK(r.begin < r.end,
               "{}: the window of output {} {} lies in the padding only (input {}, kernel {}, "
               "dilation {}, padding {}); use less padding",
               op, what, o, x.shape().str(), kernel, dilation, pad);
  }
}

/// Checks the pooling arguments against x and plans the call (see the
/// refusals in core/pool.h). stride 0 means stride = kernel.
PoolPlan plan_pool(const char* op, const Tensor& x, Pair2d kernel, Pair2d stride, Pair2d padding,
                   Pair2d dilation, bool ceil_mode) {
  check_image(op, x, false);
  if (stride.h == 0 && stride.w == 0) stride = kernel;
  NOVA_CHECK(kernel.h > 0 && kernel.w > 0, "{}: kernel must be positive, got ({}, {})", op,
             kernel.h, kernel.w);
  NOVA_CHECK(stride.h > 0 && stride.w > 0,
             "{}: stride must be positive (or 0 for stride = kernel), got ({}, {})", op, stride.h,
             stride.w);
  NOVA_CHECK(dilation.h > 0 && dilation.w > 0, "{}: dilation must be positive, got ({}, {})", op,
             dilation.h, dilation.w);
  NOVA_CHECK(padding.h >= 0 && padding.w >= 0, "{}: padding must be non-negative, got ({}, {})",
             op, padding.h, padding.w);
  const int64_t span_h = dilation.h * (kernel.h - 1) + 1, span_w = dilation.w * (kernel.w - 1) + 1;
  // PyTorch's limit (pool2d_shape_check), on the kernel before dilation
  NOVA_CHECK(padding.h <= kernel.h / 2 && padding.w <= kernel.w / 2,
             "{}: padding ({}, {}) must be at most half the kernel ({}, {}), as in PyTorch", op,
             padding.h, padding.w, kernel.h, kernel.w);
  PoolPlan plan;
  plan.window = {kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w};
  plan.H = x.size(-2);
  plan.W = x.size(-1);
  plan.OH = pool_output_size(plan.H, span_h, stride.h, padding.h, ceil_mode);
  plan.OW = pool_output_size(plan.W, span_w, stride.w, padding.w, ceil_mode);
  NOVA_CHECK(plan.OH > 0 && plan.OW > 0,
             "{}: the {}kernel ({}, {}) does not fit the input {} padded by ({}, {}): the output "
             "would be {}x{}",
             op, dilation.h > 1 || dilation.w > 1 ? "dilated " : "", span_h, span_w,
             x.shape().str(), padding.h, padding.w, plan.OH, plan.OW);
  const PoolWindow& k = plan.window;
  check_windows_reach_input(op, x, "row", plan.H, plan.OH, k.kernel_h, k.stride_h, k.pad_h, k.dilation_h);
  check_windows_reach_input(op, x, "column", plan.W, plan.OW, k.kernel_w, k.stride_w, k.pad_w,
                            k.dilation_w);
  return plan;
}

// ---- max_pool2d ----

/// grad_x [x_shape] from g [.., OH, OW]: g routed to the saved argmax. Its
/// own gradient is the gather of gg at the same indices (the table above).
Tensor max_pool2d_backward(const Tensor& g, const Tensor& indices, const PoolWindow& window,
                           const Shape& x_shape) {
  Tensor grad_x = empty(x_shape, g.dtype(), g.device());
  Tensor gp = planes(g), ip = planes(indices), xp = planes(grad_x);
  trace::KernelRun kernel_run("max_pool2d_backward", {&gp, &ip}, {&xp});
  switch (g.device().type) {
    case DeviceType::CPU: cpu::max_pool2d_backward(gp, ip, window, xp); break;
    case DeviceType::CUDA: cuda::max_pool2d_backward(gp, ip, window, xp); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&g})) {
    record("max_pool2d_backward", {g}, grad_x, [indices, x_shape](const BackwardCtx& c) {
      // gg [.., H, W] -> planes [P, H * W]; read at the argmax of every output
      const int64_t H = x_shape[x_shape.size() - 2], W = x_shape[x_shape.size() - 1];
      const int64_t OH = indices.size(-2), OW = indices.size(-1);
      const int64_t P = indices.numel() / (OH * OW);
      Tensor picked = gather(c.grad.reshape({P, H * W}), 1, indices.reshape({P, OH * OW}));
      return Grads{picked.reshape(indices.shape())};
    }, NodeOptions().row_local().saves("indices"));
  }
  return grad_x;
}

}  // namespace

MaxPool2dResult max_pool2d_with_indices(const Tensor& x, Pair2d kernel, Pair2d stride,
                                        Pair2d padding, Pair2d dilation, bool ceil_mode) {
  const PoolPlan plan = plan_pool("max_pool2d", x, kernel, stride, padding, dilation, ceil_mode);
  const Shape out_shape = with_hw(x.shape(), plan.OH, plan.OW);
  Tensor y = empty(out_shape, x.dtype(), x.device());
  Tensor indices = empty(out_shape, kInt64, x.device());
  Tensor xp = planes(x), yp = planes(y), ip = planes(indices);
  trace::KernelRun kernel_run("max_pool2d", {&xp}, {&yp, &ip});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::max_pool2d_forward(xp, plan.window, yp, ip); break;
    case DeviceType::CUDA: cuda::max_pool2d_forward(xp, plan.window, yp, ip); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    record("max_pool2d", {x}, y,
           [indices, window = plan.window, x_shape = x.shape()](const BackwardCtx& c) {
             return Grads{max_pool2d_backward(c.grad, indices, window, x_shape)};
           },
           NodeOptions().row_local().saves("indices"));
  }
  return {y, indices};
}

Tensor max_pool2d(const Tensor& x, Pair2d kernel, Pair2d stride, Pair2d padding, Pair2d dilation,
                  bool ceil_mode) {
  return max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode).values;
}

// ---- avg_pool2d ----

namespace {

Tensor avg_pool2d_backward(const Tensor& g, const PoolPlan& plan, bool count_include_pad,
                           const Shape& x_shape);

/// y [.., OH, OW] = the window averages of x (checked by plan_pool).
Tensor avg_pool2d_forward(const Tensor& x, const PoolPlan& plan, bool count_include_pad) {
  Tensor y = empty(with_hw(x.shape(), plan.OH, plan.OW), x.dtype(), x.device());
  Tensor xp = planes(x), yp = planes(y);
  trace::KernelRun kernel_run("avg_pool2d", {&xp}, {&yp});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::avg_pool2d_forward(xp, plan.window, count_include_pad, yp); break;
    case DeviceType::CUDA: cuda::avg_pool2d_forward(xp, plan.window, count_include_pad, yp); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    record("avg_pool2d", {x}, y, [plan, count_include_pad, x_shape = x.shape()](const BackwardCtx& c) {
      return Grads{avg_pool2d_backward(c.grad, plan, count_include_pad, x_shape)};
    }, NodeOptions().row_local());
  }
  return y;
}

/// grad_x [x_shape] = the adjoint of avg_pool2d_forward applied to g.
Tensor avg_pool2d_backward(const Tensor& g, const PoolPlan& plan, bool count_include_pad,
                           const Shape& x_shape) {
  Tensor grad_x = empty(x_shape, g.dtype(), g.device());
  Tensor gp = planes(g), xp = planes(grad_x);
  trace::KernelRun kernel_run("avg_pool2d_backward", {&gp}, {&xp});
  switch (g.device().type) {
    case DeviceType::CPU: cpu::avg_pool2d_backward(gp, plan.window, count_include_pad, xp); break;
    case DeviceType::CUDA: cuda::avg_pool2d_backward(gp, plan.window, count_include_pad, xp); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&g})) {
    record("avg_pool2d_backward", {g}, grad_x, [plan, count_include_pad](const BackwardCtx& c) {
      return Grads{avg_pool2d_forward(c.grad, plan, count_include_pad)};
    }, NodeOptions().row_local());
  }
  return grad_x;
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, Pair2d kernel, Pair2d stride, Pair2d padding, bool ceil_mode,
                  bool count_include_pad) {
  const PoolPlan plan = plan_pool("avg_pool2d", x, kernel, stride, padding, 1, ceil_mode);
  return avg_pool2d_forward(x, plan, count_include_pad);
}

// ---- global pooling ----

Tensor global_avg_pool2d(const Tensor& x) {
  check_image("global_avg_pool2d", x, true);
  return mean(x, {2, 3});
}

Tensor global_sum_pool2d(const Tensor& x) {
  check_image("global_sum_pool2d", x, true);
  return sum(x, {2, 3});
}

// ---- upsampling ----

namespace {

/// Checks x and `to` for an upsampling op and plans the call.
UpsamplePlan plan_upsample(const char* op, const Tensor& x, const UpsampleTo& to) {
  check_image(op, x, true);
  UpsamplePlan plan{x.size(2), x.size(3), to.size_h, to.size_w, to.scale_h, to.scale_w};
  const bool by_scale = to.size_h == 0 && to.size_w == 0;
  if (by_scale) {
    NOVA_CHECK(std::isfinite(to.scale_h) && std::isfinite(to.scale_w) && to.scale_h > 0 &&
                   to.scale_w > 0,
               "{}: scale factors must be finite and positive, got ({}, {})", op, to.scale_h,
               to.scale_w);
    // F.interpolate: output size = floor(input size * scale), in double
    plan.OH = static_cast<int64_t>(std::floor(double(plan.H) * to.scale_h));
    plan.OW = static_cast<int64_t>(std::floor(double(plan.W) * to.scale_w));
  } else {
    NOVA_CHECK(to.scale_h == 0 && to.scale_w == 0,
               "{}: give an output size or scale factors, not both (UpsampleTo::size / ::scale)",
               op);
  }
  NOVA_CHECK(plan.OH > 0 && plan.OW > 0,
             "{}: output size must be positive, got {}x{} for input {}{}", op, plan.OH, plan.OW,
             x.shape().str(), by_scale ? " (floor of size * scale)" : "");
  return plan;
}

Tensor upsample_nearest2d_backward(const Tensor& g, const UpsamplePlan& plan, const Shape& x_shape);

/// y [N, C, OH, OW]: the nearest source pixel of each output.
Tensor upsample_nearest2d_forward(const Tensor& x, const UpsamplePlan& plan) {
  Tensor y = empty(with_hw(x.shape(), plan.OH, plan.OW), x.dtype(), x.device());
  Tensor xp = planes(x), yp = planes(y);
  trace::KernelRun kernel_run("upsample_nearest2d", {&xp}, {&yp});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::upsample_nearest2d_forward(xp, plan.scale_h, plan.scale_w, yp); break;
    case DeviceType::CUDA: cuda::upsample_nearest2d_forward(xp, plan.scale_h, plan.scale_w, yp); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    record("upsample_nearest2d", {x}, y, [plan, x_shape = x.shape()](const BackwardCtx& c) {
      return Grads{upsample_nearest2d_backward(c.grad, plan, x_shape)};
    }, NodeOptions().row_local());
  }
  return y;
}

/// grad_x [N, C, H, W]: each input pixel sums the outputs that copied it.
Tensor upsample_nearest2d_backward(const Tensor& g, const UpsamplePlan& plan, const Shape& x_shape) {
  Tensor grad_x = empty(x_shape, g.dtype(), g.device());
  Tensor gp = planes(g), xp = planes(grad_x);
  trace::KernelRun kernel_run("upsample_nearest2d_backward", {&gp}, {&xp});
  switch (g.device().type) {
    case DeviceType::CPU: cpu::upsample_nearest2d_backward(gp, plan.scale_h, plan.scale_w, xp); break;
    case DeviceType::CUDA: cuda::upsample_nearest2d_backward(gp, plan.scale_h, plan.scale_w, xp); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&g})) {
    record("upsample_nearest2d_backward", {g}, grad_x, [plan](const BackwardCtx& c) {
      return Grads{upsample_nearest2d_forward(c.grad, plan)};
    }, NodeOptions().row_local());
  }
  return grad_x;
}

Tensor upsample_bilinear2d_backward(const Tensor& g, const UpsamplePlan& plan, bool align_corners,
                                    const Shape& x_shape);

/// y [N, C, OH, OW]: the bilinear blend around each output's source point.
Tensor upsample_bilinear2d_forward(const Tensor& x, const UpsamplePlan& plan, bool align_corners) {
  Tensor y = empty(with_hw(x.shape(), plan.OH, plan.OW), x.dtype(), x.device());
  Tensor xp = planes(x), yp = planes(y);
  trace::KernelRun kernel_run("upsample_bilinear2d", {&xp}, {&yp});
  switch (x.device().type) {
    case DeviceType::CPU:
      cpu::upsample_bilinear2d_forward(xp, align_corners, plan.scale_h, plan.scale_w, yp);
      break;
    case DeviceType::CUDA:
      cuda::upsample_bilinear2d_forward(xp, align_corners, plan.scale_h, plan.scale_w, yp);
      break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    record("upsample_bilinear2d", {x}, y,
           [plan, align_corners, x_shape = x.shape()](const BackwardCtx& c) {
             return Grads{upsample_bilinear2d_backward(c.grad, plan, align_corners, x_shape)};
           },
           NodeOptions().row_local());
  }
  return y;
}

/// grad_x [N, C, H, W]: each input pixel sums the outputs that read it, each
/// times the weight it had in that output's blend.
Tensor upsample_bilinear2d_backward(const Tensor& g, const UpsamplePlan& plan, bool align_corners,
                                    const Shape& x_shape) {
  Tensor grad_x = empty(x_shape, g.dtype(), g.device());
  Tensor gp = planes(g), xp = planes(grad_x);
  trace::KernelRun kernel_run("upsample_bilinear2d_backward", {&gp}, {&xp});
  switch (g.device().type) {
    case DeviceType::CPU:
      cpu::upsample_bilinear2d_backward(gp, align_corners, plan.scale_h, plan.scale_w, xp);
      break;
    case DeviceType::CUDA:
      cuda::upsample_bilinear2d_backward(gp, align_corners, plan.scale_h, plan.scale_w, xp);
      break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&g})) {
    record("upsample_bilinear2d_backward", {g}, grad_x, [plan, align_corners](const BackwardCtx& c) {
      return Grads{upsample_bilinear2d_forward(c.grad, plan, align_corners)};
    }, NodeOptions().row_local());
  }
  return grad_x;
}

}  // namespace

Tensor upsample_nearest2d(const Tensor& x, const UpsampleTo& to) {
  return upsample_nearest2d_forward(x, plan_upsample("upsample_nearest2d", x, to));
}

Tensor upsample_bilinear2d(const Tensor& x, const UpsampleTo& to, bool align_corners) {
  return upsample_bilinear2d_forward(x, plan_upsample("upsample_bilinear2d", x, to), align_corners);
}

}  // namespace nova::ops
