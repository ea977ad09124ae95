// core/base/view.h: View, what a kernel receives instead of a Tensor: a data
// pointer, sizes, strides (in elements), dtype and device. Nothing more.
//
// A View owns nothing and knows no autograd, so the kernel floor cannot
// allocate a tensor, record a node or call an op: it has nothing to do it
// with. core/ makes the outputs and workspaces, keeps their storage alive for
// the call, and hands them down; a Tensor converts to a View implicitly
// (core/tensor.h), which is why core's calls read `cpu::unary(kind, x, y, ...)`.
//
// The accessors have the names Tensor's have (shape(), strides(), data<T>()),
// so a kernel reads the same whether a learner comes from core or from here.
#pragma once

#include <cstdint>

#include "core/base/device.h"
#include "core/base/dtype.h"
#include "core/base/error.h"
#include "core/base/shape.h"

namespace nova {

class View {
 public:
  /// An absent operand (an optional weight, an unused buffer): defined() is false.
  View() = default;
  /// `data` points at element [0, ..., 0]; strides count elements, not bytes.
  View(void* data, const Shape& shape, const Shape& strides, DType dtype, Device device)
      : data_(data), shape_(shape), strides_(strides), dtype_(dtype), device_(device), defined_(true) {}
  /// A dense row-major view of `shape` at `data`: for workspaces a caller
  /// carved out of one allocation.
  static View contiguous(void* data, const Shape& shape, DType dtype, Device device) {
    return View(data, shape, contiguous_strides(shape), dtype, device);
  }

  bool defined() const { return defined_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int dim() const { return shape_.size(); }
  /// Size of dim d (negative counts from the end).
  int64_t size(int64_t d) const { return shape_[normalize_dim("view", d, shape_.size())]; }
  int64_t numel() const { return shape_.numel(); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool is_cpu() const { return device_.is_cpu(); }
  bool is_cuda() const { return device_.is_cuda(); }
  /// Dense row-major layout (see is_dense_layout in core/base/shape.h).
  bool is_contiguous() const { return is_dense_layout(shape_, strides_); }

  /// Pointer to element [0, ..., 0]. Checks that T matches dtype().
  template <typename T>
  T* data() const {
    NOVA_CHECK(dtype_of<T>() == dtype_, "kernel: data<{}>() on a {} view", dtype_name(dtype_of<T>()),
               dtype_name(dtype_));
    return static_cast<T*>(data_);
  }
  /// Untyped pointer to element [0, ..., 0].
  void* raw_data() const { return data_; }

 private:
  void* data_ = nullptr;
  Shape shape_;
  Shape strides_;
  DType dtype_ = kFloat32;
  Device device_;
  bool defined_ = false;
};

}  // namespace nova
