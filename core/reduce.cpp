// core/reduce.cpp: checks, dispatch and autograd for reductions.
//
// Derivative table. x has shape S; every result is first computed with the
// keepdim shape K (reduced dims are 1), so g, y and indices below have shape
// K and broadcast against x; N = number of elements reduced into one output.
//   sum        g                                              [K] -> [S]
//   mean       g / N
//   var        g * 2 (x - mean(x, dims, keepdim)) / (N - correction)
//   max/min    g where the position along dim == indices, else 0
//   (dim)      (indices: int64, no gradient)
//   max/min,   g * m / sum(m, dims, keepdim), m = [x == y]: tied extremes
//   amax/amin  share the gradient evenly, as in PyTorch
//   norm p=1   g * sign(x)
//   norm p=2   g * x / y, and 0 where y == 0
//   norm p=inf g * sign(x) * m / sum(m), m = [|x| == y]
//   norm p     g * sign(x) |x|^(p-1) / y^(p-1), and 0 where y == 0
//   logsumexp  g * exp(x - y)   (= g * softmax(x) over the reduced dims)
// argmax/argmin have no gradient. Masks come from comparisons, which carry no
// graph, so every formula is itself differentiable for create_graph.
// Row-locality (grad_split, NodeOptions in core/autograd.h): a reduction is
// row-local when it keeps dim 0 (reduces only other dims), see keeps_rows().
#include "core/reduce.h"

#include <cmath>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/reduce.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

Shape reduced_shape(const char* op, const Shape& shape, const std::vector<int64_t>& dims,
                    std::vector<bool>* reduced) {
  std::vector<bool> mask(shape.size(), dims.empty());
  for (int64_t d : dims) {
    int nd = normalize_dim(op, d, shape.size());
    if (shape.size() == 0) continue;
    NOVA_CHECK(!mask[nd], "{}: dim {} listed twice", op, d);
    mask[nd] = true;
  }
  Shape out = shape;
  for (int d = 0; d < shape.size(); ++d)
    if (mask[d]) out[d] = 1;
  if (reduced) *reduced = mask;
  return out;
}

namespace {
/// A reduction keeps rows apart when dim 0 is not among the reduced dims.
bool keeps_rows(const Tensor& x, const std::vector<bool>& reduced) {
  return x.dim() >= 1 && !reduced[0];
}
}  // namespace

Tensor drop_reduced_dims(const Tensor& r, const std::vector<bool>& reduced) {
  Shape s;
  for (int d = 0; d < r.dim(); ++d)
    if (!reduced[d]) s.push_back(r.size(d));
  return reshape(r, s);
}

Tensor restore_reduced_dims(const Tensor& g, const Shape& input_shape, const std::vector<bool>& reduced) {
  Shape s = input_shape;
  for (int d = 0; d < s.size(); ++d)
    if (reduced[d]) s[d] = 1;
  return g.shape() == s ? g : reshape(g, s);
}

namespace {

Tensor sum_or_mean(const char* op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
                   bool take_mean) {
  check_defined(op, x);
  if (take_mean) check_floating(op, x);
  std::vector<bool> reduced;
  Shape kshape = reduced_shape(op, x.shape(), dims, &reduced);
  Tensor y = empty(kshape, x.dtype(), x.device());
  trace::KernelRun kernel_run(take_mean ? "mean" : "sum", {&x}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU: take_mean ? cpu::mean(x, y) : cpu::sum(x, y); break;
    case DeviceType::CUDA: take_mean ? cuda::mean(x, y) : cuda::sum(x, y); break;
  }
  kernel_run.finish();
  double count = kshape.numel() ? double(x.numel()) / double(kshape.numel()) : 0.0;
  if (autograd::any_requires_grad({&x})) {
    record(op, {x}, y, [shape = x.shape(), reduced, take_mean, count](const BackwardCtx& c) {
      Tensor g = expand(restore_reduced_dims(c.grad, shape, reduced), shape);
      return Grads{take_mean ? g * (1.0 / count) : g};
    }, NodeOptions().row_local(keeps_rows(x, reduced)));
  }
  return keepdim ? y : drop_reduced_dims(y, reduced);
}

}  // namespace

Tensor sum(const Tensor& x) { return sum_or_mean("sum", x, {}, false, false); }
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_or_mean("sum", x, dims, keepdim, false);
}
Tensor mean(const Tensor& x) { return sum_or_mean("mean", x, {}, false, true); }
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return sum_or_mean("mean", x, dims, keepdim, true);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  int lead = x.dim() - shape.size();
  NOVA_CHECK(lead >= 0, "sum_to: cannot sum {} to the larger shape {}", x.shape().str(), shape.str());
  std::vector<int64_t> dims;
  for (int d = 0; d < x.dim(); ++d) {
    if (d < lead) {
      dims.push_back(d);
      continue;
    }
    int64_t want = shape[d - lead];
    if (want == 1 && x.size(d) != 1) {
      dims.push_back(d);
    } else {
      NOVA_CHECK(want == x.size(d), "sum_to: shape {} is not a broadcast of {}", x.shape().str(),
                 shape.str());
    }
  }
  Tensor s = sum(x, dims, true);
  return reshape(s, shape);
}

namespace {

/// The reduced dims as a list (what sum/mean take), from the mask.
std::vector<int64_t> dims_of(const std::vector<bool>& reduced) {
  std::vector<int64_t> dims;
  for (size_t d = 0; d < reduced.size(); ++d)
    if (reduced[d]) dims.push_back(static_cast<int64_t>(d));
  return dims;
}

/// Number of input elements folded into each output element (N).
int64_t block_size(const Shape& shape, const std::vector<bool>& reduced) {
  int64_t n = 1;
  for (int d = 0; d < shape.size(); ++d)
    if (reduced[d]) n *= shape[d];
  return n;
}

/// max/min/argmax have no value for an empty block (sum has: 0).
void check_nonempty(const char* op, const Shape& shape, const std::vector<bool>& reduced) {
  NOVA_CHECK(block_size(shape, reduced) > 0,
             "{}: cannot reduce over an empty dim of input {}: the result has no value", op,
             shape.str());
}

Tensor finish(const Tensor& y, const std::vector<bool>& reduced, bool keepdim) {
  return keepdim ? y : drop_reduced_dims(y, reduced);
}

/// [1, .., n, .., 1]: 0..n-1 along dim d of a tensor of `shape`, to compare
/// against indices of shape K.
Tensor positions_along(int d, const Shape& shape, Device device) {
  Shape s = Shape::filled(shape.size(), 1);
  s[d] = shape[d];
  return reshape(arange(shape[d], kInt64, device), s);
}

/// g * m / sum(m): the gradient of an extreme value shared evenly by the
/// elements equal to it (m is the 0/1 mask of those elements, shape S).
Tensor share_evenly(const Tensor& g, const Tensor& mask, const std::vector<bool>& reduced) {
  return g * mask / sum(mask, dims_of(reduced), true);
}

/// amax/amin and the all-dims max/min: values only.
Tensor extreme_values(const char* op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
                      bool take_max) {
  check_defined(op, x);
  std::vector<bool> reduced;
  Shape kshape = reduced_shape(op, x.shape(), dims, &reduced);
  check_nonempty(op, x.shape(), reduced);
  Tensor y = empty(kshape, x.dtype(), x.device());
  trace::KernelRun kernel_run(take_max ? "max" : "min", {&x}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::max_min(x, y, Tensor(), take_max); break;
    case DeviceType::CUDA: cuda::max_min(x, y, Tensor(), take_max); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    record(op, {x}, y, [x, reduced](const BackwardCtx& c) {
      return Grads{share_evenly(c.grad, eq(x, c.out).to(x.dtype()), reduced)};
    }, NodeOptions().save_output().row_local(keeps_rows(x, reduced)).saves("x"));
  }
  return finish(y, reduced, keepdim);
}

MaxMin extreme_along(const char* op, const Tensor& x, int64_t dim, bool keepdim, bool take_max) {
  check_defined(op, x);
  std::vector<bool> reduced;
  Shape kshape = reduced_shape(op, x.shape(), {dim}, &reduced);
  check_nonempty(op, x.shape(), reduced);
  Tensor values = empty(kshape, x.dtype(), x.device());
  Tensor indices = empty(kshape, kInt64, x.device());
  trace::KernelRun kernel_run(take_max ? "max" : "min", {&x}, {&values, &indices});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::max_min(x, values, indices, take_max); break;
    case DeviceType::CUDA: cuda::max_min(x, values, indices, take_max); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    const int d = normalize_dim(op, dim, x.dim());
    record(op, {x}, values, [shape = x.shape(), d, indices](const BackwardCtx& c) {
      if (shape.size() == 0) return Grads{c.grad};  // a 0-d input is its own max
      // [S] mask of the selected elements; g [K] broadcasts over dim
      Tensor selected = eq(positions_along(d, shape, indices.device()), indices);
      return Grads{where(selected, c.grad, 0.0)};
    }, NodeOptions().row_local(keeps_rows(x, reduced)).saves("indices"));
  }
  return {finish(values, reduced, keepdim), finish(indices, reduced, keepdim)};
}

/// argmax/argmin over `dims` (one dim, or all for the flattened tensor).
Tensor extreme_index(const char* op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
                     bool take_max) {
  check_defined(op, x);
  std::vector<bool> reduced;
  Shape kshape = reduced_shape(op, x.shape(), dims, &reduced);
  check_nonempty(op, x.shape(), reduced);
  Tensor indices = empty(kshape, kInt64, x.device());
  trace::KernelRun kernel_run(take_max ? "argmax" : "argmin", {&x}, {&indices});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::max_min(x, Tensor(), indices, take_max); break;
    case DeviceType::CUDA: cuda::max_min(x, Tensor(), indices, take_max); break;
  }
  kernel_run.finish();
  return finish(indices, reduced, keepdim);
}

}  // namespace

Tensor var(const Tensor& x) { return var(x, {}, true, false); }

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, bool unbiased, bool keepdim) {
  check_defined("var", x);
  check_floating("var", x);
  std::vector<bool> reduced;
  Shape kshape = reduced_shape("var", x.shape(), dims, &reduced);
  const int64_t correction = unbiased ? 1 : 0;
  Tensor y = empty(kshape, x.dtype(), x.device());
  trace::KernelRun kernel_run("var", {&x}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::var(x, y, correction); break;
    case DeviceType::CUDA: cuda::var(x, y, correction); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    const double scale = 2.0 / double(block_size(x.shape(), reduced) - correction);
    record("var", {x}, y, [x, reduced, scale](const BackwardCtx& c) {
      // [K] g * [S] (x - [K] mean): mean is an op, so this differentiates again
      Tensor centered = x - mean(x, dims_of(reduced), true);
      return Grads{c.grad * centered * scale};
    }, NodeOptions().row_local(keeps_rows(x, reduced)).saves("x"));
  }
  return finish(y, reduced, keepdim);
}

Tensor max(const Tensor& x) { return extreme_values("max", x, {}, false, true); }
Tensor min(const Tensor& x) { return extreme_values("min", x, {}, false, false); }
MaxMin max(const Tensor& x, int64_t dim, bool keepdim) { return extreme_along("max", x, dim, keepdim, true); }
MaxMin min(const Tensor& x, int64_t dim, bool keepdim) { return extreme_along("min", x, dim, keepdim, false); }
Tensor amax(const Tensor& x) { return extreme_values("amax", x, {}, false, true); }
Tensor amin(const Tensor& x) { return extreme_values("amin", x, {}, false, false); }
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_values("amax", x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_values("amin", x, dims, keepdim, false);
}

Tensor argmax(const Tensor& x) { return extreme_index("argmax", x, {}, false, true); }
Tensor argmin(const Tensor& x) { return extreme_index("argmin", x, {}, false, false); }
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_index("argmax", x, {dim}, keepdim, true);
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_index("argmin", x, {dim}, keepdim, false);
}

Tensor norm(const Tensor& x, double p, const std::vector<int64_t>& dims, bool keepdim) {
  check_defined("norm", x);
  check_floating("norm", x);
  NOVA_CHECK(p > 0, "norm: expected p > 0 (1, 2, INFINITY or any positive value), got {}", p);
  std::vector<bool> reduced;
  Shape kshape = reduced_shape("norm", x.shape(), dims, &reduced);
  Tensor y = empty(kshape, x.dtype(), x.device());
  trace::KernelRun kernel_run("norm", {&x}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::norm(x, y, p); break;
    case DeviceType::CUDA: cuda::norm(x, y, p); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    record("norm", {x}, y, [x, p, reduced](const BackwardCtx& c) {
      const Tensor& g = c.grad;
      const Tensor& y = c.out;
      if (p == 1) return Grads{g * sign(x)};
      if (std::isinf(p)) return Grads{sign(x) * share_evenly(g, eq(abs(x), y).to(x.dtype()), reduced)};
      // y == 0 only when the whole block is 0; its gradient is 0 there. Both
      // branches of where() are differentiated, so the one not taken must not
      // divide by 0 either (a NaN would leak into second derivatives).
      Tensor zero = eq(y, 0.0);
      Tensor safe_y = where(zero, 1.0, y);
      if (p == 2) return Grads{where(zero, 0.0, g * x / safe_y)};
      // [K] g * [S] sign(x) |x|^(p-1) / [K] y^(p-1)
      return Grads{where(zero, 0.0, g * sign(x) * pow(abs(x), p - 1) / pow(safe_y, p - 1))};
    }, NodeOptions().save_output().row_local(keeps_rows(x, reduced)).saves("x"));
  }
  return finish(y, reduced, keepdim);
}

Tensor logsumexp(const Tensor& x) { return logsumexp(x, {}, false); }

Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  check_defined("logsumexp", x);
  check_floating("logsumexp", x);
  std::vector<bool> reduced;
  Shape kshape = reduced_shape("logsumexp", x.shape(), dims, &reduced);
  Tensor y = empty(kshape, x.dtype(), x.device());
  trace::KernelRun kernel_run("logsumexp", {&x}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::logsumexp(x, y); break;
    case DeviceType::CUDA: cuda::logsumexp(x, y); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    record("logsumexp", {x}, y, [x](const BackwardCtx& c) {
      // exp(x - y) <= 1: the softmax of x over the reduced dims, no overflow
      return Grads{c.grad * exp(x - c.out)};
    }, NodeOptions().save_output().row_local(keeps_rows(x, reduced)).saves("x"));
  }
  return finish(y, reduced, keepdim);
}

}  // namespace nova::ops
