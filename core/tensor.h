// core/tensor.h: Tensor, a cheap handle (one shared_ptr) to a TensorImpl:
// storage + shape + strides + offset + dtype + device + autograd metadata.
//
// Views (reshape, transpose, narrow, expand, ...) are new TensorImpls over the
// same Storage; contiguous() copies only when the layout is not dense
// row-major. Copying a Tensor copies the handle, never the data (as in
// PyTorch); clone() copies the data.
//
// Methods here are conveniences that forward to the functions in nova::ops
// (core/ops.h); kernels only use the accessors (shape, strides, data<T>()).
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/base/dtype.h"
#include "core/base/shape.h"
#include "core/base/view.h"
#include "core/device.h"
#include "core/storage.h"

namespace nova {

namespace autograd {
struct Node;
}

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements, not bytes
  int64_t offset = 0;  // in elements, from the start of storage
  DType dtype = kFloat32;
  Device device;

  // autograd metadata
  bool requires_grad = false;
  std::shared_ptr<autograd::Node> grad_fn;           // set on op results
  std::shared_ptr<autograd::Node> grad_accumulator;  // leaves only, made on first use
  std::shared_ptr<TensorImpl> grad;                  // leaves only: accumulated .grad
};

class Tensor {
 public:
  /// An undefined tensor (like a null pointer): defined() is false.
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

  // ---- metadata ----
  const Shape& shape() const { return impl_->shape; }
  const Shape& strides() const { return impl_->strides; }
  int dim() const { return impl_->shape.size(); }
  /// Size of dim d (negative counts from the end).
  int64_t size(int64_t d) const;
  int64_t numel() const { return impl_->shape.numel(); }
  int64_t offset() const { return impl_->offset; }
  DType dtype() const { return impl_->dtype; }
  Device device() const { return impl_->device; }
  bool is_cpu() const { return impl_->device.is_cpu(); }
  bool is_cuda() const { return impl_->device.is_cuda(); }
  bool is_floating_point() const { return is_floating(impl_->dtype); }
  /// Dense row-major layout (strides == contiguous_strides(shape)).
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return impl_->storage; }

  /// Pointer to the first element. Checks that T matches dtype().
  template <typename T>
  T* data() const {
    NOVA_CHECK(dtype_of<T>() == impl_->dtype, "tensor: data<{}>() on a {} tensor",
               dtype_name(dtype_of<T>()), dtype_name(impl_->dtype));
    return static_cast<T*>(impl_->storage->data()) + impl_->offset;
  }
  /// Untyped pointer to the first element.
  void* raw_data() const {
    return static_cast<char*>(impl_->storage->data()) + impl_->offset * dtype_size(impl_->dtype);
  }
  /// The plain strided View a kernel receives (core/base/view.h): pointer,
  /// sizes, strides, dtype, device. Implicit, so core hands tensors straight
  /// to kernels; the Tensor must outlive the call. Undefined gives undefined.
  operator View() const {
    return defined() ? View(raw_data(), impl_->shape, impl_->strides, impl_->dtype, impl_->device) : View();
  }

  // ---- values ----
  /// The single value of a one-element tensor, converted to double.
  double item() const;
  template <typename T>
  T item() const { return static_cast<T>(item()); }
  /// All values in row-major order, converted to T (copies to the CPU if needed).
  template <typename T>
  std::vector<T> to_vector() const;

  // ---- autograd ----
  bool requires_grad() const { return impl_->requires_grad; }
  /// Marks a leaf as needing .grad and returns the same handle, so that
  /// `auto w = randn({3, 3}).requires_grad_();` reads naturally.
  Tensor requires_grad_(bool value = true) const;
  /// True when this tensor was not produced by a recorded op.
  bool is_leaf() const { return impl_->grad_fn == nullptr; }
  const std::shared_ptr<autograd::Node>& grad_fn() const { return impl_->grad_fn; }
  /// The accumulated gradient of a leaf (undefined before the first backward).
  Tensor grad() const { return Tensor(impl_->grad); }
  void set_grad(const Tensor& g) const { impl_->grad = g.impl_; }
  /// Runs reverse-mode autograd from this tensor. A non-scalar needs `grad`
  /// (the vector of the vector-Jacobian product). See core/autograd.h.
  void backward(const Tensor& grad = Tensor(), bool retain_graph = false,
                bool create_graph = false) const;
  /// Same data, cut from the graph: requires_grad false, no grad_fn.
  Tensor detach() const;

  // ---- rebinding memory (not recorded by autograd) ----
  /// Points this tensor at the memory of `source`: its storage, offset,
  /// strides, dtype and device (the shapes must match). Everything autograd
  /// knows stays (requires_grad, .grad, grad_fn), and so does the TensorImpl,
  /// so every handle to this tensor (a module's member, an optimizer's
  /// parameter list) sees the new memory; views taken from it earlier still
  /// show the old. PyTorch's `param.data = source` (LibTorch's set_data): how
  /// Module::to moves parameters and FlatParameters packs them into one
  /// buffer. Throws nova::Error when either is undefined or the shapes differ.
  void set_data(const Tensor& source) const;
  /// A 1-D view of `length` elements of this tensor's storage, starting at
  /// element `start` of the storage (not of this tensor), in this tensor's
  /// dtype: for code that knows several tensors lie back to back in one
  /// storage (the gradient views of a FlatParameters) and wants them as one
  /// vector. A plain tensor, outside autograd. Throws nova::Error when the
  /// range leaves the storage.
  Tensor storage_view(int64_t start, int64_t length) const;

  // ---- copies and conversions ----
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;

  // ---- views (no copy; differentiable) ----
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  /// Transpose of a 2-D tensor (a 0-d or 1-d tensor is returned unchanged).
  Tensor t() const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;

  // ---- common ops as methods (see core/ops.h for all) ----
  Tensor sum() const;
  Tensor sum(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const std::vector<int64_t>& dims, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;
  Tensor pow(double exponent) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor abs() const;
  Tensor sqrt() const;

  // ---- in-place (never recorded by autograd; for optimizers and init) ----
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  /// Copies src (broadcast to this shape, converted to this dtype) into this.
  Tensor& copy_(const Tensor& src);
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double value);

  std::string str() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

/// The Views of several tensors, for a kernel that takes a list (cat, the
/// adaptive-weighting products); the tensors must outlive the call.
std::vector<View> views_of(const std::vector<Tensor>& tensors);

/// Throws "op: inputs on different devices (cpu, cuda:0)" unless all defined
/// tensors share one device.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);
/// Throws "op: dtype mismatch (float32 [2, 3] vs float64 [3])" unless a and b share a dtype.
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);
/// Throws "op: expected a floating tensor, got int64 [4]" for non-float inputs.
void check_floating(const char* op, const Tensor& x);
void check_defined(const char* op, const Tensor& x, const char* what = "input");

}  // namespace nova
