// core/elementwise.cpp: checks, dispatch and autograd for elementwise ops.
//
// Derivative table (g = incoming gradient, y = output):
//   neg      -g                      abs     g * sign(x)
//   exp      g * y                   log     g / x
//   log1p    g / (1 + x)             sqrt    g * 0.5 / y
//   rsqrt    g * -0.5 * y^3          square  g * 2x
//   pow(x,p) g * p * x^(p-1)         sin     g * cos(x)       cos  -g * sin(x)
//   relu     g * [x > 0]             leaky   g * ([x > 0] + s [x <= 0])
//   elu      x > 0 ? g : g * alpha * exp(x)
//   sigmoid  g * y * (1 - y)         tanh    g * (1 - y^2)
//   softplus g * sigmoid(beta x)     (g where beta x > threshold)
//   clamp    g * [lo <= x <= hi]
//   add      g, g                    sub     g, -g
//   mul      g * b, g * a            div     g / b, -g * a / b^2
//   pow(a,b) g * b * a^(b-1), g * y * log(a)
//   maximum  g * ([a > b] + [a == b] / 2), and the mirror for b (ties split
//            evenly, as PyTorch); minimum likewise
//   where    where(c, g, 0), where(c, 0, g)
// Broadcast inputs get the broadcast gradient; the engine sums it back.
// Saved (NodeOptions::saves, drawn by to_dot): what the formula reads and no
// more: y alone for exp, sqrt, rsqrt, sigmoid, tanh; x for the other unary
// ops and clamp; a, b for mul, div, maximum, minimum (a, b and y for pow);
// cond for where; nothing for neg, sign, add, sub and the scalar forms.
// Every op here is recorded row-local (grad_split, NodeOptions in
// core/autograd.h): output row i reads row i of each input that has the
// output's rows, and inputs broadcast along dim 0 are shared by all rows
// (grad_split's grouped backward splits their sums per group).
// Masks like [x > 0] come from comparisons, which carry no graph, so every
// formula above is itself differentiable for create_graph.
#include "core/elementwise.h"

#include "core/autograd.h"
#include "core/factory.h"
#include "core/trace.h"
#include "kernels/activation_grad.h"
#include "kernels/elementwise.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

Tensor mask_of(const Tensor& m, const Tensor& like) { return m.to(like.dtype()); }

Tensor binary_kernel(BinaryKind kind, const Tensor& a, const Tensor& b) {
  const char* op = binary_name(kind);
  check_defined(op, a, "first input");
  check_defined(op, b, "second input");
  check_same_device(op, {&a, &b});
  check_same_dtype(op, a, b);
  Shape shape = broadcast_shapes(op, a.shape(), b.shape());
  Tensor out = empty(shape, is_comparison(kind) ? kBool : a.dtype(), a.device());
  trace::KernelRun kernel_run(binary_name(kind), {&a, &b}, {&out});
  switch (a.device().type) {
    case DeviceType::CPU: cpu::binary(kind, a, b, out); break;
    case DeviceType::CUDA: cuda::binary(kind, a, b, out); break;
  }
  kernel_run.finish();
  return out;
}

/// Unary op on a floating tensor with a backward written in ops,
/// backward(g, x, y). Its node keeps what the formula reads, one of the two:
/// the output y when `save_out` (exp, sqrt, rsqrt, sigmoid, tanh: their
/// backward gets an undefined x), else the input x (and an undefined y).
template <typename Backward>
Tensor unary_float(UnaryKind kind, const Tensor& x, double alpha, double beta, bool save_out,
                   Backward backward) {
  check_defined(unary_name(kind), x);
  check_floating(unary_name(kind), x);
  Tensor y = unary_kernel(kind, x, alpha, beta);
  if (autograd::any_requires_grad({&x})) {
    const Tensor kept_x = save_out ? Tensor() : x;
    record(unary_name(kind), {x}, y, [kept_x, backward](const BackwardCtx& c) {
      return Grads{backward(c.grad, kept_x, c.out)};
    }, NodeOptions().save_output(save_out).row_local().saves(save_out ? nullptr : "x"));
  }
  return y;
}

Tensor scalar_like(double v, const Tensor& t) { return scalar_tensor(v, t.dtype(), t.device()); }

/// The tanh / sigmoid backward g * f'(y): one pass over memory
/// (kernels/activation_grad.h, the same bits) when the backward records no
/// graph and g and y are dense tensors of one shape; otherwise `composed`,
/// the formula in ops, which a create_graph backward differentiates.
template <typename Composed>
Tensor activation_grad(ActivationGradKind kind, const Tensor& g, const Tensor& y, Composed composed) {
  if (autograd::is_grad_enabled() || g.shape() != y.shape() || g.dtype() != y.dtype() ||
      g.device() != y.device() || !g.is_contiguous() || !y.is_contiguous())
    return composed();
  Tensor out = empty(y.shape(), y.dtype(), y.device());
  trace::KernelRun kernel_run(kind == ActivationGradKind::Tanh ? "tanh_backward" : "sigmoid_backward", {&g, &y},
                              {&out});
  switch (y.device().type) {
    case DeviceType::CPU: cpu::activation_grad(kind, g, y, out); break;
    case DeviceType::CUDA: cuda::activation_grad(kind, g, y, out); break;
  }
  kernel_run.finish();
  return out;
}

}  // namespace

Tensor unary_kernel(UnaryKind kind, const Tensor& x, double alpha, double beta) {
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  trace::KernelRun kernel_run(unary_name(kind), {&x}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::unary(kind, x, y, alpha, beta); break;
    case DeviceType::CUDA: cuda::unary(kind, x, y, alpha, beta); break;
  }
  kernel_run.finish();
  return y;
}

// ---- unary ----

Tensor neg(const Tensor& x) {
  check_defined("neg", x);
  Tensor y = unary_kernel(UnaryKind::Neg, x);
  if (autograd::any_requires_grad({&x}))
    record("neg", {x}, y, [](const BackwardCtx& c) { return Grads{neg(c.grad)}; }, NodeOptions().row_local());
  return y;
}

Tensor abs(const Tensor& x) {
  check_defined("abs", x);
  Tensor y = unary_kernel(UnaryKind::Abs, x);
  if (autograd::any_requires_grad({&x}))
    record("abs", {x}, y, [x](const BackwardCtx& c) { return Grads{c.grad * sign(x)}; },
           NodeOptions().row_local().saves("x"));
  return y;
}

Tensor sign(const Tensor& x) {
  check_defined("sign", x);
  Tensor y = unary_kernel(UnaryKind::Sign, x);
  // zero almost everywhere: recorded so the result stays in the graph, but
  // it sends no gradient
  if (autograd::any_requires_grad({&x}))
    record("sign", {x}, y, [](const BackwardCtx&) { return Grads{Tensor()}; }, NodeOptions().row_local());
  return y;
}

Tensor exp(const Tensor& x) {
  return unary_float(UnaryKind::Exp, x, 0, 0, true,
                     [](const Tensor& g, const Tensor&, const Tensor& y) { return g * y; });
}

Tensor log(const Tensor& x) {
  return unary_float(UnaryKind::Log, x, 0, 0, false,
                     [](const Tensor& g, const Tensor& x, const Tensor&) { return g / x; });
}

Tensor log1p(const Tensor& x) {
  return unary_float(UnaryKind::Log1p, x, 0, 0, false,
                     [](const Tensor& g, const Tensor& x, const Tensor&) { return g / (x + 1.0); });
}

Tensor sqrt(const Tensor& x) {
  return unary_float(UnaryKind::Sqrt, x, 0, 0, true,
                     [](const Tensor& g, const Tensor&, const Tensor& y) { return g * 0.5 / y; });
}

Tensor rsqrt(const Tensor& x) {
  return unary_float(UnaryKind::Rsqrt, x, 0, 0, true,
                     [](const Tensor& g, const Tensor&, const Tensor& y) {
                       return g * -0.5 * y * y * y;
                     });
}

Tensor square(const Tensor& x) {
  check_defined("square", x);
  Tensor y = unary_kernel(UnaryKind::Square, x);
  if (autograd::any_requires_grad({&x}))
    record("square", {x}, y, [x](const BackwardCtx& c) { return Grads{c.grad * x * 2.0}; },
           NodeOptions().row_local().saves("x"));
  return y;
}

Tensor pow(const Tensor& x, double p) {
  if (p == 2.0 && x.is_floating_point()) return square(x);
  return unary_float(UnaryKind::Pow, x, p, 0, false,
                     [p](const Tensor& g, const Tensor& x, const Tensor&) {
                       return g * p * pow(x, p - 1.0);
                     });
}

Tensor sin(const Tensor& x) {
  return unary_float(UnaryKind::Sin, x, 0, 0, false,
                     [](const Tensor& g, const Tensor& x, const Tensor&) { return g * cos(x); });
}

Tensor cos(const Tensor& x) {
  return unary_float(UnaryKind::Cos, x, 0, 0, false,
                     [](const Tensor& g, const Tensor& x, const Tensor&) { return -(g * sin(x)); });
}

// ---- activations ----

Tensor relu(const Tensor& x) {
  return unary_float(UnaryKind::Relu, x, 0, 0, false,
                     [](const Tensor& g, const Tensor& x, const Tensor&) { return relu_backward(g, x, 0.0); });
}

Tensor leaky_relu(const Tensor& x, double slope) {
  return unary_float(UnaryKind::LeakyRelu, x, slope, 0, false,
                     [slope](const Tensor& g, const Tensor& x, const Tensor&) { return relu_backward(g, x, slope); });
}

Tensor relu_backward(const Tensor& grad, const Tensor& ref, double slope) {
  check_defined("relu_backward", grad, "gradient");
  check_defined("relu_backward", ref, "reference");
  if (autograd::is_grad_enabled() || grad.shape() != ref.shape() || grad.dtype() != ref.dtype() ||
      !is_floating(grad.dtype()) || grad.device() != ref.device() || !grad.is_contiguous() ||
      !ref.is_contiguous()) {
    // the differentiable formula (create_graph), also for what the kernel
    // does not take: leaky_relu's three passes (the mask, g * slope, the
    // pick) where g * (mask * (1 - slope) + slope) took five
    if (slope == 0.0) return grad * mask_of(gt(ref, 0.0), ref);
    return where(gt(ref, 0.0), grad, grad * slope);
  }
  Tensor out = empty(grad.shape(), grad.dtype(), grad.device());
  trace::KernelRun kernel_run(slope == 0.0 ? "relu_backward" : "leaky_relu_backward", {&grad, &ref}, {&out});
  switch (grad.device().type) {
    case DeviceType::CPU: cpu::relu_grad(grad, ref, slope, out); break;
    case DeviceType::CUDA: cuda::relu_grad(grad, ref, slope, out); break;
  }
  kernel_run.finish();
  return out;
}

Tensor elu(const Tensor& x, double alpha) {
  // exp(min(x, 0)) instead of exp(x): the unused branch must not overflow
  return unary_float(UnaryKind::Elu, x, alpha, 0, false,
                     [alpha](const Tensor& g, const Tensor& x, const Tensor&) {
                       Tensor zero = scalar_like(0.0, x);
                       return where(gt(x, 0.0), g, g * alpha * exp(minimum(x, zero)));
                     });
}

Tensor sigmoid(const Tensor& x) {
  return unary_float(UnaryKind::Sigmoid, x, 0, 0, true,
                     [](const Tensor& g, const Tensor&, const Tensor& y) {
                       return activation_grad(ActivationGradKind::Sigmoid, g, y,
                                              [&] { return g * y * (1.0 - y); });
                     });
}

Tensor tanh(const Tensor& x) {
  return unary_float(UnaryKind::Tanh, x, 0, 0, true,
                     [](const Tensor& g, const Tensor&, const Tensor& y) {
                       return activation_grad(ActivationGradKind::Tanh, g, y,
                                              [&] { return g * (1.0 - y * y); });
                     });
}

Tensor softplus(const Tensor& x, double beta, double threshold) {
  NOVA_CHECK(beta > 0, "softplus: beta must be > 0, got {}", beta);
  return unary_float(UnaryKind::Softplus, x, beta, threshold, false,
                     [beta, threshold](const Tensor& g, const Tensor& x, const Tensor&) {
                       Tensor bx = x * beta;
                       return where(gt(bx, threshold), g, g * sigmoid(bx));
                     });
}

Tensor modrelu(const Tensor& x, const Tensor& b) {
  check_floating("modrelu", x);
  check_same_dtype("modrelu", x, b);
  return sign(x) * relu(abs(x) + b);
}

// ---- binary ----

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = binary_kernel(BinaryKind::Add, a, b);
  if (autograd::any_requires_grad({&a, &b}))
    record("add", {a, b}, y, [](const BackwardCtx& c) { return Grads{c.grad, c.grad}; }, NodeOptions().row_local());
  return y;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = binary_kernel(BinaryKind::Sub, a, b);
  if (autograd::any_requires_grad({&a, &b})) record("sub", {a, b}, y, [](const BackwardCtx& c) {
    return Grads{c.grad, c.needs(1) ? neg(c.grad) : Tensor()};
  }, NodeOptions().row_local());
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = binary_kernel(BinaryKind::Mul, a, b);
  if (autograd::any_requires_grad({&a, &b}))
    record("mul", {a, b}, y, [a, b](const BackwardCtx& c) {
      return Grads{c.needs(0) ? c.grad * b : Tensor(), c.needs(1) ? c.grad * a : Tensor()};
    }, NodeOptions().row_local().saves("a, b"));
  return y;
}

Tensor div(const Tensor& a, const Tensor& b) {
  check_floating("div", a);
  Tensor y = binary_kernel(BinaryKind::Div, a, b);
  if (autograd::any_requires_grad({&a, &b}))
    record("div", {a, b}, y, [a, b](const BackwardCtx& c) {
      return Grads{c.needs(0) ? c.grad / b : Tensor(),
                   c.needs(1) ? -(c.grad * a / (b * b)) : Tensor()};
    }, NodeOptions().row_local().saves("a, b"));
  return y;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  check_floating("pow", a);
  Tensor y = binary_kernel(BinaryKind::Pow, a, b);
  if (autograd::any_requires_grad({&a, &b}))
    record("pow", {a, b}, y, [a, b](const BackwardCtx& c) {
      // d/db a^b = a^b log a: only formed when b needs it (log a is NaN for a < 0)
      return Grads{c.needs(0) ? c.grad * b * pow(a, b - 1.0) : Tensor(),
                   c.needs(1) ? c.grad * c.out * log(a) : Tensor()};
    }, NodeOptions().save_output().row_local().saves("a, b"));
  return y;
}

namespace {
/// Gradient share of the first operand of maximum (or minimum with `first_wins` = lt).
Tensor tie_split_mask(const Tensor& wins, const Tensor& a, const Tensor& b) {
  return mask_of(wins, a) + mask_of(eq(a, b), a) * 0.5;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor y = binary_kernel(BinaryKind::Maximum, a, b);
  if (autograd::any_requires_grad({&a, &b}))
    record("maximum", {a, b}, y, [a, b](const BackwardCtx& c) {
      return Grads{c.needs(0) ? c.grad * tie_split_mask(gt(a, b), a, b) : Tensor(),
                   c.needs(1) ? c.grad * tie_split_mask(gt(b, a), b, a) : Tensor()};
    }, NodeOptions().row_local().saves("a, b"));
  return y;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor y = binary_kernel(BinaryKind::Minimum, a, b);
  if (autograd::any_requires_grad({&a, &b}))
    record("minimum", {a, b}, y, [a, b](const BackwardCtx& c) {
      return Grads{c.needs(0) ? c.grad * tie_split_mask(lt(a, b), a, b) : Tensor(),
                   c.needs(1) ? c.grad * tie_split_mask(lt(b, a), b, a) : Tensor()};
    }, NodeOptions().row_local().saves("a, b"));
  return y;
}

Tensor add(const Tensor& a, double b) {
  check_defined("add", a);
  Tensor y = unary_kernel(UnaryKind::AddScalar, a, b);
  if (autograd::any_requires_grad({&a}))
    record("add", {a}, y, [](const BackwardCtx& c) { return Grads{c.grad}; }, NodeOptions().row_local());
  return y;
}

Tensor mul(const Tensor& a, double b) {
  check_defined("mul", a);
  Tensor y = unary_kernel(UnaryKind::MulScalar, a, b);
  if (autograd::any_requires_grad({&a}))
    record("mul", {a}, y, [b](const BackwardCtx& c) { return Grads{c.grad * b}; }, NodeOptions().row_local());
  return y;
}

// ---- comparisons ----

Tensor eq(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryKind::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryKind::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryKind::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryKind::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryKind::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_kernel(BinaryKind::Ge, a, b); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_like(b, a)); }
Tensor ne(const Tensor& a, double b) { return ne(a, scalar_like(b, a)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(b, a)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar_like(b, a)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(b, a)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar_like(b, a)); }

// ---- where, clamp ----

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_defined("where", cond, "condition");
  check_defined("where", a, "first input");
  check_defined("where", b, "second input");
  NOVA_CHECK(cond.dtype() == kBool, "where: condition must be bool, got {}", dtype_name(cond.dtype()));
  check_same_device("where", {&cond, &a, &b});
  check_same_dtype("where", a, b);
  Shape shape = broadcast_shapes("where", broadcast_shapes("where", cond.shape(), a.shape()), b.shape());
  Tensor y = empty(shape, a.dtype(), a.device());
  trace::KernelRun kernel_run("where", {&cond, &a, &b}, {&y});
  switch (a.device().type) {
    case DeviceType::CPU: cpu::where(cond, a, b, y); break;
    case DeviceType::CUDA: cuda::where(cond, a, b, y); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&a, &b}))
    record("where", {a, b}, y, [cond](const BackwardCtx& c) {
      Tensor zero = scalar_like(0.0, c.grad);
      return Grads{c.needs(0) ? where(cond, c.grad, zero) : Tensor(),
                   c.needs(1) ? where(cond, zero, c.grad) : Tensor()};
    }, NodeOptions().row_local().saves("cond"));
  return y;
}

Tensor where(const Tensor& cond, const Tensor& a, double b) { return where(cond, a, scalar_like(b, a)); }
Tensor where(const Tensor& cond, double a, const Tensor& b) { return where(cond, scalar_like(a, b), b); }

Tensor clamp(const Tensor& x, double lo, double hi) {
  check_defined("clamp", x);
  NOVA_CHECK(lo <= hi, "clamp: lower bound {} is above upper bound {}", lo, hi);
  Tensor y = unary_kernel(UnaryKind::Clamp, x, lo, hi);
  if (autograd::any_requires_grad({&x}))
    record("clamp", {x}, y, [x, lo, hi](const BackwardCtx& c) {
      return Grads{c.grad * mask_of(ge(x, lo), x) * mask_of(le(x, hi), x)};
    }, NodeOptions().row_local().saves("x"));
  return y;
}

}  // namespace nova::ops

namespace nova {
Tensor operator-(const Tensor& x) { return ops::neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }
Tensor operator+(const Tensor& a, double b) { return ops::add(a, b); }
Tensor operator-(const Tensor& a, double b) { return ops::add(a, -b); }
Tensor operator*(const Tensor& a, double b) { return ops::mul(a, b); }
Tensor operator/(const Tensor& a, double b) { return ops::mul(a, 1.0 / b); }
Tensor operator+(double a, const Tensor& b) { return ops::add(b, a); }
Tensor operator-(double a, const Tensor& b) { return ops::add(ops::neg(b), a); }
Tensor operator*(double a, const Tensor& b) { return ops::mul(b, a); }
Tensor operator/(double a, const Tensor& b) { return ops::mul(ops::pow(b, -1.0), a); }
Tensor operator<(const Tensor& a, double b) { return ops::lt(a, b); }
Tensor operator<=(const Tensor& a, double b) { return ops::le(a, b); }
Tensor operator>(const Tensor& a, double b) { return ops::gt(a, b); }
Tensor operator>=(const Tensor& a, double b) { return ops::ge(a, b); }
}  // namespace nova
