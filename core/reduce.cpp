// core/reduce.cpp: checks, dispatch and autograd for reductions.
//
// Derivative table (g = incoming gradient, reduced dims restored as size 1):
//   sum    g broadcast to the input shape
//   mean   g broadcast to the input shape / (number of reduced elements)
#include "core/reduce.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/views.h"
#include "kernels/cpu/reduce.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
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
  switch (x.device().type) {
    case DeviceType::CPU: take_mean ? cpu::mean(x, y) : cpu::sum(x, y); break;
    case DeviceType::CUDA: no_cuda_kernel(op, x.device());
  }
  double count = kshape.numel() ? double(x.numel()) / double(kshape.numel()) : 0.0;
  if (autograd::any_requires_grad({&x}))
    record(op, {x}, y, [shape = x.shape(), reduced, take_mean, count](const BackwardCtx& c) {
      Tensor g = expand(restore_reduced_dims(c.grad, shape, reduced), shape);
      return Grads{take_mean ? g * (1.0 / count) : g};
    });
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

}  // namespace nova::ops
