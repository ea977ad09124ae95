// core/softmax.cpp: checks, dispatch and autograd of softmax and log_softmax.
//
// Derivative table (y = output, g = dL/dy, sums along dim with keepdim; all
// shapes equal to x's, the sum is size 1 along dim and broadcasts back):
//   softmax      dx = y * (g - sum(g * y))
//   log_softmax  dx = g - exp(y) * sum(g)
// Both save only the output (save_output), and both formulas are made of ops,
// so create_graph differentiates them again.
// Row-local (grad_split, NodeOptions in core/autograd.h) along any dim but 0.
#include "core/softmax.h"

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/reduce.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/softmax.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

Tensor softmax_op(const char* op, const Tensor& x, int64_t dim, bool take_log) {
  check_defined(op, x);
  check_floating(op, x);
  // a 0-d tensor is a row of one element, as in PyTorch (dim 0 or -1)
  if (x.dim() == 0) {
    normalize_dim(op, dim, 0);
    return reshape(softmax_op(op, reshape(x, {1}), 0, take_log), {});
  }
  const int d = normalize_dim(op, dim, x.dim());
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  trace::KernelRun kernel_run(op, {&x}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU:
      take_log ? cpu::log_softmax_forward(x, d, y) : cpu::softmax_forward(x, d, y);
      break;
    case DeviceType::CUDA:
      take_log ? cuda::log_softmax_forward(x, d, y) : cuda::softmax_forward(x, d, y);
      break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    record(op, {x}, y, [d, take_log](const BackwardCtx& c) {
      const Tensor& g = c.grad;
      const Tensor& y = c.out;
      if (take_log) return Grads{g - exp(y) * sum(g, {d}, true)};
      return Grads{y * (g - sum(g * y, {d}, true))};
    }, NodeOptions().save_output().row_local(d != 0));
  }
  return y;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_op("softmax", x, dim, false); }

Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_op("log_softmax", x, dim, true); }

}  // namespace nova::ops
