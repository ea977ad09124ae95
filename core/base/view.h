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
#include <utility>

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

  /// The same elements with dims d0 and d1 swapped, no copy (as
  /// Tensor::transpose; negative dims count from the end).
  View transpose(int64_t d0, int64_t d1) const {
    View t = *this;
    const int a = normalize_dim("view", d0, dim()), b = normalize_dim("view", d1, dim());
    std::swap(t.shape_[a], t.shape_[b]);
    std::swap(t.strides_[a], t.strides_[b]);
    return t;
  }

  /// Pointer to element [0, ..., 0]. Checks that T matches dtype().
  template <typename T>
  T* data() const {
    NOVA_CHECK(dtype_of<T>() == dtype_, "kernel: data<{}>() on a {} view", dtype_name(dtype_of<T>()),
               dtype_name(dtype_));
    return static_cast<T*>(data_);
  }
  /// data<T>(), or nullptr for an absent operand (an unused state buffer).
  template <typename T>
  T* data_or_null() const { return defined_ ? data<T>() : nullptr; }
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

/// Element offset of matrix number `b` (row-major over the batch dims, all
/// dims but the last two) in a batch of matrices v [..., rows, cols]: how
/// matmul and linalg kernels walk expanded and strided batches.
inline int64_t matrix_batch_offset(const View& v, int64_t b) {
  int64_t off = 0;
  for (int d = v.dim() - 3; d >= 0; --d) {
    off += (b % v.shape()[d]) * v.strides()[d];
    b /= v.shape()[d];
  }
  return off;
}

}  // namespace nova
