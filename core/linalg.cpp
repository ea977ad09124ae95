// core/linalg.cpp: checks, batch broadcasting and autograd of inverse/solve;
// checks and dispatch of eigh (no backward: its only user, FID, needs none,
// and a backward through two outputs that save each other would need the
// engine's multi-output nodes, which nova does not have yet).
//
// Derivative table (g = dL/d output, ^T transposes the last two dims):
//   Y = inverse(A), A [.., n, n]:
//     dA = -Y^T g Y^T                    [.., n, n]
//   X = solve(A, B), A [.., n, n], B [.., n, k], X [.., n, k]:
//     dB = solve(A^T, g)                 [.., n, k]
//     dA = -dB X^T                       [.., n, k] @ [.., k, n] -> [.., n, n]
// Both save only the output (save_output) besides A itself. Broadcast batch
// dims of A or B get the broadcast gradient, which the engine sums back.
// Every formula is made of ops (matmul, transpose, solve), so create_graph
// differentiates them again. A vector b is unsqueezed to [.., n, 1] before and
// squeezed after, so its gradient flows through the view ops.
#include "core/linalg.h"

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/matmul.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/linalg.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

void check_square(const char* op, const Tensor& a) {
  NOVA_CHECK(a.dim() >= 2 && a.size(-1) == a.size(-2),
             "{}: expected square matrices [..., n, n], got {}", op, a.shape().str());
}

Tensor mT(const Tensor& x) { return transpose(x, -1, -2); }

/// The first s.size() - drop dims of s.
Shape leading_dims(const Shape& s, int drop) {
  Shape out;
  for (int d = 0; d + drop < s.size(); ++d) out.push_back(s[d]);
  return out;
}

/// solve with b at least 2-D ([..., n, k]).
Tensor solve_matrix(const Tensor& a, const Tensor& b) {
  Shape batch = broadcast_shapes("solve (batch dims)", leading_dims(a.shape(), 2),
                                 leading_dims(b.shape(), 2));
  Shape sa = batch, sx = batch;
  sa.push_back(a.size(-2));
  sa.push_back(a.size(-1));
  sx.push_back(b.size(-2));
  sx.push_back(b.size(-1));
  Tensor x = empty(sx, a.dtype(), a.device());
  {
    NoGradGuard no_grad;  // the expanded views are only for the kernel
    Tensor ea = expand(a, sa), eb = expand(b, sx);
    trace::KernelRun kernel_run("solve", {&ea, &eb}, {&x});
    switch (a.device().type) {
      case DeviceType::CPU: cpu::solve(ea, eb, x); break;
      case DeviceType::CUDA: cuda::solve(ea, eb, x); break;
    }
    kernel_run.finish();
  }
  if (autograd::any_requires_grad({&a, &b}))
    record("solve", {a, b}, x, [a](const BackwardCtx& c) {
      Tensor grad_b = solve_matrix(mT(a), c.grad);  // needed by both gradients
      Tensor grad_a = c.needs(0) ? -matmul(grad_b, mT(c.out)) : Tensor();
      return Grads{grad_a, c.needs(1) ? grad_b : Tensor()};
    }, NodeOptions().save_output().saves("a"));  // not row-local: grad_split refuses it
  return x;
}

}  // namespace

Tensor inverse(const Tensor& a) {
  check_defined("inverse", a);
  check_floating("inverse", a);
  check_square("inverse", a);
  Tensor y = empty(a.shape(), a.dtype(), a.device());
  trace::KernelRun kernel_run("inverse", {&a}, {&y});
  switch (a.device().type) {
    case DeviceType::CPU: cpu::inverse(a, y); break;
    case DeviceType::CUDA: cuda::inverse(a, y); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&a}))
    record("inverse", {a}, y, [](const BackwardCtx& c) {
      Tensor yt = mT(c.out);
      return Grads{-matmul(matmul(yt, c.grad), yt)};
    }, NodeOptions().save_output());  // not row-local: grad_split refuses it
  return y;
}

Tensor solve(const Tensor& a, const Tensor& b) {
  check_defined("solve", a, "a");
  check_defined("solve", b, "b");
  check_same_device("solve", {&a, &b});
  check_same_dtype("solve", a, b);
  check_floating("solve", a);
  check_square("solve", a);
  NOVA_CHECK(b.dim() >= 1, "solve: b must be [..., n] or [..., n, k], got {}", b.shape().str());
  // a vector right-hand side, as torch.linalg.solve decides it
  const bool vector = b.dim() == 1 || b.shape() == leading_dims(a.shape(), 1);
  const int64_t rows = vector ? b.size(-1) : b.size(-2);
  NOVA_CHECK(a.size(-1) == rows, "solve: a {} and b {} do not fit (a is {} x {}, b has {} rows)",
             a.shape().str(), b.shape().str(), a.size(-2), a.size(-1), rows);
  if (!vector) return solve_matrix(a, b);
  return squeeze(solve_matrix(a, unsqueeze(b, -1)), -1);
}

EighResult eigh(const Tensor& a) {
  check_defined("eigh", a);
  check_floating("eigh", a);
  check_square("eigh", a);
  NOVA_CHECK(!autograd::any_requires_grad({&a}),
             "eigh: has no backward, but its input requires grad; call it under NoGradGuard or "
             "on a.detach()");
  EighResult r{empty(leading_dims(a.shape(), 1), a.dtype(), a.device()),
               empty(a.shape(), a.dtype(), a.device())};
  trace::KernelRun kernel_run("eigh", {&a}, {&r.values, &r.vectors});
  switch (a.device().type) {
    case DeviceType::CPU: cpu::eigh(a, r.values, r.vectors); break;
    case DeviceType::CUDA: cuda::eigh(a, r.values, r.vectors); break;
  }
  kernel_run.finish();
  return r;
}

}  // namespace nova::ops
