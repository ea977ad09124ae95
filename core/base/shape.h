// core/base/shape.h: Shape, a small fixed-capacity list of dimension sizes (also
// used for strides), and the shape algebra every op shares: broadcasting,
// contiguous strides, dim normalisation.
// Inline storage (no heap) because a Shape is built for every op result and
// the CPU path of small models is dominated by per-op overhead.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace nova {

constexpr int kMaxDims = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);
  /// n dimensions, each `value`.
  static Shape filled(int n, int64_t value);

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  int64_t back() const { return d_[n_ - 1]; }
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + n_; }
  int64_t* begin() { return d_; }
  int64_t* end() { return d_ + n_; }

  void push_back(int64_t v);
  void insert(int pos, int64_t v);
  void erase(int pos);

  /// Product of the dims (1 for a 0-d shape). Throws nova::Error when the
  /// product of the dims, a 0 counted as 1, overflows int64: such a shape
  /// has no strides, so no tensor can have it.
  int64_t numel() const;
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  /// "[2, 3]"
  std::string str() const;

  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  int64_t d_[kMaxDims] = {};
  int n_ = 0;
};

/// Row-major strides of a dense tensor of this shape; throws nova::Error
/// when one overflows int64 (the shape numel() refuses).
Shape contiguous_strides(const Shape& shape);

/// True when `strides` lay `shape` out dense and row-major (strides ==
/// contiguous_strides(shape) on every dim of size > 1; an empty shape is dense).
bool is_dense_layout(const Shape& shape, const Shape& strides);

/// NumPy broadcast of two shapes; throws "op: shapes [..] and [..] cannot be
/// broadcast" naming `op`.
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);

/// Strides that read a tensor of `shape`/`strides` as if it had been expanded
/// to `target` (0 stride on broadcast dims). `target` must be a broadcast of shape.
Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& target);

/// Maps dim in [-ndim, ndim) to [0, ndim); throws naming `op` otherwise.
int normalize_dim(const char* op, int64_t dim, int ndim);

}  // namespace nova
