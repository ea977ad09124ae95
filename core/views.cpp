// core/views.cpp: views and copies (see views.h).
//
// Derivative table (g = incoming gradient):
//   reshape/view/flatten/squeeze/unsqueeze   g.reshape(input shape)
//   permute(dims)     g.permute(inverse of dims)
//   slice             slice_backward(g): zeros with g in the slice
//   expand            g (the engine sums it back to the input shape)
//   contiguous, clone, to(dtype)   g (the engine converts the dtype)
//   to(device)        g.to(input device)
//
// Row-locality (grad_split, declared in each record() call with NodeOptions,
// core/autograd.h): a view is row-local when dim 0 survives unchanged:
// reshapes that keep dim 0's size (rows stay rows, as the element order is
// kept), permute/transpose/slice that leave dim 0 alone, expand (grad_split
// sums the gradient of an input broadcast along dim 0 per group), and the
// copies (contiguous, clone, to).
#include "core/views.h"

#include "core/autograd.h"
#include "core/factory.h"
#include "core/trace.h"
#include "kernels/elementwise.h"
#include "kernels/cuda/runtime.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

/// A new TensorImpl over x's storage with the given layout.
Tensor make_view(const Tensor& x, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = x.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = x.dtype();
  impl->device = x.device();
  return Tensor(impl);
}

Shape infer_shape(const char* op, const Tensor& x, const Shape& shape) {
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      NOVA_CHECK(infer < 0, "{}: only one dim may be -1, got {}", op, shape.str());
      infer = i;
    } else {
      NOVA_CHECK(out[i] >= 0, "{}: invalid size {} in {}", op, out[i], shape.str());
      known *= out[i];
    }
  }
  if (infer >= 0) {
    NOVA_CHECK(known != 0 && x.numel() % known == 0, "{}: cannot reshape {} ({} elements) into {}", op,
               x.shape().str(), x.numel(), shape.str());
    out[infer] = x.numel() / known;
  }
  NOVA_CHECK(out.numel() == x.numel(), "{}: cannot reshape {} ({} elements) into {}", op,
             x.shape().str(), x.numel(), shape.str());
  return out;
}

/// Records a view whose backward is "reshape g back to the input shape"; it
/// is row-local when dim 0 keeps its size.
void record_reshape_like(const char* op, const Tensor& x, Tensor& y) {
  if (!autograd::any_requires_grad({&x})) return;
  record(op, {x}, y, [shape = x.shape()](const BackwardCtx& c) {
    return Grads{reshape(c.grad, shape)};
  }, NodeOptions().row_local(x.dim() >= 1 && y.dim() >= 1 && x.size(0) == y.size(0)));
}

/// A new dense tensor holding x converted to dtype, on x's device. `op` names
/// the caller in the call sites (both kernels report their own errors).
Tensor copy_to_new(const char* /*op*/, const Tensor& x, DType dtype) {
  Tensor y = empty(x.shape(), dtype, x.device());
  trace::KernelRun kernel_run("copy", {&x}, {&y});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::copy(x, y); break;
    case DeviceType::CUDA: cuda::copy(x, y); break;
  }
  kernel_run.finish();
  return y;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& shape) {
  check_defined("reshape", x);
  Shape s = infer_shape("reshape", x, shape);
  Tensor src = x.is_contiguous() ? x : contiguous(x);
  Tensor y = make_view(src, s, contiguous_strides(s), src.offset());
  record_reshape_like("reshape", src, y);
  return y;
}

Tensor view(const Tensor& x, const Shape& shape) {
  check_defined("view", x);
  NOVA_CHECK(x.is_contiguous(), "view: input of shape {} is not contiguous; use reshape (which copies) or call contiguous() first",
             x.shape().str());
  return reshape(x, shape);
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  check_defined("flatten", x);
  if (x.dim() == 0) return reshape(x, {1});
  int s = normalize_dim("flatten", start_dim, x.dim());
  int e = normalize_dim("flatten", end_dim, x.dim());
  NOVA_CHECK(s <= e, "flatten: start_dim {} is after end_dim {}", start_dim, end_dim);
  Shape out;
  for (int i = 0; i < s; ++i) out.push_back(x.size(i));
  int64_t merged = 1;
  for (int i = s; i <= e; ++i) merged *= x.size(i);
  out.push_back(merged);
  for (int i = e + 1; i < x.dim(); ++i) out.push_back(x.size(i));
  return reshape(x, out);
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  check_defined("permute", x);
  NOVA_CHECK(static_cast<int>(dims.size()) == x.dim(), "permute: {} dims given for a {}-d tensor",
             dims.size(), x.dim());
  Shape shape, strides;
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    int d = normalize_dim("permute", dims[i], x.dim());
    NOVA_CHECK(inverse[d] < 0, "permute: dim {} repeated", d);
    inverse[d] = static_cast<int64_t>(i);
    shape.push_back(x.size(d));
    strides.push_back(x.strides()[d]);
  }
  Tensor y = make_view(x, shape, strides, x.offset());
  if (autograd::any_requires_grad({&x})) {
    record("permute", {x}, y, [inverse](const BackwardCtx& c) {
      return Grads{permute(c.grad, inverse)};
    }, NodeOptions().row_local(x.dim() >= 1 && inverse[0] == 0));
  }
  return y;
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  check_defined("transpose", x);
  std::vector<int64_t> dims(x.dim());
  for (int i = 0; i < x.dim(); ++i) dims[i] = i;
  int a = normalize_dim("transpose", d0, x.dim()), b = normalize_dim("transpose", d1, x.dim());
  if (x.dim() == 0) return x;
  std::swap(dims[a], dims[b]);
  return permute(x, dims);
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  check_defined("slice", x);
  NOVA_CHECK(x.dim() > 0, "slice: cannot slice a 0-d tensor");
  int d = normalize_dim("slice", dim, x.dim());
  NOVA_CHECK(step > 0, "slice: step must be positive, got {}", step);
  int64_t n = x.size(d);
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::min(std::max<int64_t>(start, 0), n);
  end = std::min(std::max<int64_t>(end, start), n);
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = (end - start + step - 1) / step;
  strides[d] *= step;
  Tensor y = make_view(x, shape, strides, x.offset() + start * x.strides()[d]);
  if (autograd::any_requires_grad({&x})) {
    record("slice", {x}, y, [shape = x.shape(), d, start, step](const BackwardCtx& c) {
      return Grads{slice_backward(c.grad, shape, d, start, step)};
    }, NodeOptions().row_local(d != 0));
  }
  return y;
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  check_defined("narrow", x);
  int d = normalize_dim("narrow", dim, x.dim());
  int64_t n = x.size(d);
  if (start < 0) start += n;
  NOVA_CHECK(start >= 0 && length >= 0 && start + length <= n,
             "narrow: range [{}, {}) out of bounds for dim {} of size {} (shape {})", start,
             start + length, d, n, x.shape().str());
  return slice(x, d, start, start + length, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  check_defined("select", x);
  int d = normalize_dim("select", dim, x.dim());
  int64_t n = x.size(d);
  NOVA_CHECK(index >= -n && index < n, "select: index {} out of range for dim {} of size {}", index,
             d, n);
  if (index < 0) index += n;
  return squeeze(narrow(x, d, index, 1), d);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  check_defined("expand", x);
  NOVA_CHECK(shape.size() >= x.dim(), "expand: cannot expand {} to fewer dims {}", x.shape().str(),
             shape.str());
  Shape target = shape;
  int lead = shape.size() - x.dim();
  for (int i = 0; i < shape.size(); ++i) {
    int j = i - lead;
    if (target[i] == -1) {
      NOVA_CHECK(j >= 0, "expand: -1 is not allowed for a new leading dim ({})", shape.str());
      target[i] = x.size(j);
    }
    NOVA_CHECK(target[i] >= 0, "expand: invalid size {} in {}", target[i], shape.str());
    NOVA_CHECK(j < 0 || x.size(j) == target[i] || x.size(j) == 1,
               "expand: cannot expand {} to {} (dim {} has size {})", x.shape().str(), shape.str(),
               j, j >= 0 ? x.size(j) : 0);
  }
  Tensor y = make_view(x, target, broadcast_strides(x.shape(), x.strides(), target), x.offset());
  if (autograd::any_requires_grad({&x})) {
    record("expand", {x}, y, [](const BackwardCtx& c) { return Grads{c.grad}; }, NodeOptions().row_local());
  }
  return y;
}

Tensor squeeze(const Tensor& x) {
  check_defined("squeeze", x);
  Shape shape, strides;
  for (int i = 0; i < x.dim(); ++i)
    if (x.size(i) != 1) {
      shape.push_back(x.size(i));
      strides.push_back(x.strides()[i]);
    }
  Tensor y = make_view(x, shape, strides, x.offset());
  record_reshape_like("squeeze", x, y);
  return y;
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  check_defined("squeeze", x);
  if (x.dim() == 0) return x;
  int d = normalize_dim("squeeze", dim, x.dim());
  if (x.size(d) != 1) return x;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(d);
  strides.erase(d);
  Tensor y = make_view(x, shape, strides, x.offset());
  record_reshape_like("squeeze", x, y);
  return y;
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  check_defined("unsqueeze", x);
  int d = normalize_dim("unsqueeze", dim, x.dim() + 1);
  Shape shape = x.shape(), strides = x.strides();
  int64_t stride = d < x.dim() ? x.strides()[d] * x.size(d) : 1;
  shape.insert(d, 1);
  strides.insert(d, stride);
  Tensor y = make_view(x, shape, strides, x.offset());
  record_reshape_like("unsqueeze", x, y);
  return y;
}

Tensor contiguous(const Tensor& x) {
  check_defined("contiguous", x);
  if (x.is_contiguous()) return x;
  Tensor y = copy_to_new("contiguous", x, x.dtype());
  if (autograd::any_requires_grad({&x})) {
    record("contiguous", {x}, y, [](const BackwardCtx& c) { return Grads{c.grad}; }, NodeOptions().row_local());
  }
  return y;
}

Tensor clone(const Tensor& x) {
  check_defined("clone", x);
  Tensor y = copy_to_new("clone", x, x.dtype());
  if (autograd::any_requires_grad({&x})) {
    record("clone", {x}, y, [](const BackwardCtx& c) { return Grads{c.grad}; }, NodeOptions().row_local());
  }
  return y;
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  check_defined("to", x);
  if (x.dtype() == dtype) return x;
  Tensor y = copy_to_new("to", x, dtype);
  // gradients flow only between floating dtypes
  if (is_floating(dtype) && autograd::any_requires_grad({&x})) {
    record("to", {x}, y, [](const BackwardCtx& c) { return Grads{c.grad}; }, NodeOptions().row_local());
  }
  return y;
}

Tensor to_device(const Tensor& x, Device device) {
  check_defined("to", x);
  if (x.device() == device) return x;
  Tensor y = empty(x.shape(), x.dtype(), device);
  {
    // The bytes travel dense: make the source contiguous on its own device
    // first (a no-op when it already is), then copy them in one piece.
    NoGradGuard no_grad;
    Tensor src = contiguous(x);
    size_t nbytes = size_t(x.numel()) * dtype_size(x.dtype());
    if (src.is_cpu())
      cuda::copy_host_to_device(y.raw_data(), src.raw_data(), nbytes, device.index);
    else if (device.is_cpu())
      cuda::copy_device_to_host(y.raw_data(), src.raw_data(), nbytes, src.device().index);
    else
      cuda::copy_between_devices(y.raw_data(), device.index, src.raw_data(), src.device().index, nbytes);
  }
  if (autograd::any_requires_grad({&x})) {
    record("to", {x}, y, [from = x.device()](const BackwardCtx& c) { return Grads{to_device(c.grad, from)}; },
           NodeOptions().row_local());
  }
  return y;
}

Tensor slice_backward(const Tensor& g, const Shape& shape, int64_t dim, int64_t start, int64_t step) {
  Tensor out = zeros(shape, g.dtype(), g.device());
  {
    NoGradGuard no_grad;
    Tensor window = slice(out, dim, start, start + g.size(dim) * step, step);
    window.copy_(g);
  }
  if (autograd::any_requires_grad({&g}))
    record("slice_backward", {g}, out, [dim, start, n = g.size(dim), step](const BackwardCtx& c) {
      return Grads{slice(c.grad, dim, start, start + n * step, step)};
    });
  return out;
}

}  // namespace nova::ops
