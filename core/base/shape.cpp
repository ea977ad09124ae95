// core/base/shape.cpp: Shape storage and the shared shape algebra (see shape.h).
// Products of dims are checked (__builtin_mul_overflow): a shape read from a
// file can claim [2^62, 2^62], and signed overflow is undefined behaviour,
// not merely a wrong number.
#include "core/base/shape.h"

#include <algorithm>

#include "core/base/error.h"

namespace nova {

Shape::Shape(std::initializer_list<int64_t> dims) {
  NOVA_CHECK(dims.size() <= kMaxDims, "shape: at most {} dims, got {}", kMaxDims, dims.size());
  for (int64_t v : dims) d_[n_++] = v;
}

Shape::Shape(const std::vector<int64_t>& dims) {
  NOVA_CHECK(dims.size() <= kMaxDims, "shape: at most {} dims, got {}", kMaxDims, dims.size());
  for (int64_t v : dims) d_[n_++] = v;
}

Shape Shape::filled(int n, int64_t value) {
  NOVA_CHECK(n >= 0 && n <= kMaxDims, "shape: at most {} dims, got {}", kMaxDims, n);
  Shape s;
  for (int i = 0; i < n; ++i) s.d_[i] = value;
  s.n_ = n;
  return s;
}

void Shape::push_back(int64_t v) {
  NOVA_CHECK(n_ < kMaxDims, "shape: at most {} dims", kMaxDims);
  d_[n_++] = v;
}

void Shape::insert(int pos, int64_t v) {
  NOVA_CHECK(n_ < kMaxDims, "shape: at most {} dims", kMaxDims);
  for (int i = n_; i > pos; --i) d_[i] = d_[i - 1];
  d_[pos] = v;
  ++n_;
}

void Shape::erase(int pos) {
  for (int i = pos; i + 1 < n_; ++i) d_[i] = d_[i + 1];
  --n_;
}

namespace {

[[noreturn]] void fail_too_large(const Shape& shape) {
  fail("shape: {} is too large: the product of its dims (a 0 counted as 1) overflows int64",
       shape.str());
}

}  // namespace

int64_t Shape::numel() const {
  // A 0 makes the count 0, yet the other dims must still multiply within
  // int64: contiguous_strides multiplies them all ([0, 2^62, 2^62] would
  // need a stride of 2^124), and Python's safetensors refuses such a shape.
  int64_t product = 1;
  bool has_zero = false;
  for (int i = 0; i < n_; ++i) {
    if (d_[i] == 0)
      has_zero = true;
    else if (__builtin_mul_overflow(product, d_[i], &product))
      fail_too_large(*this);
  }
  return has_zero ? 0 : product;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < n_; ++i) {
    if (i) s += ", ";
    s += std::to_string(d_[i]);
  }
  return s + "]";
}

bool Shape::operator==(const Shape& o) const {
  if (n_ != o.n_) return false;
  for (int i = 0; i < n_; ++i)
    if (d_[i] != o.d_[i]) return false;
  return true;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides = Shape::filled(shape.size(), 1);
  for (int i = shape.size() - 2; i >= 0; --i)
    if (__builtin_mul_overflow(strides[i + 1], std::max<int64_t>(shape[i + 1], 1), &strides[i]))
      fail_too_large(shape);
  return strides;
}

bool is_dense_layout(const Shape& shape, const Shape& strides) {
  if (shape.numel() == 0) return true;  // no element to be out of place
  int64_t expected = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    if (shape[d] != 1 && strides[d] != expected) return false;
    expected *= shape[d];
  }
  return true;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  if (a == b) return a;
  int n = std::max(a.size(), b.size());
  Shape out = Shape::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    int ia = a.size() - n + i, ib = b.size() - n + i;
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    NOVA_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} cannot be broadcast", op,
               a.str(), b.str());
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& target) {
  Shape out = Shape::filled(target.size(), 0);
  int lead = target.size() - shape.size();
  for (int i = 0; i < shape.size(); ++i)
    out[lead + i] = (shape[i] == 1 && target[lead + i] != 1) ? 0 : strides[i];
  return out;
}

int normalize_dim(const char* op, int64_t dim, int ndim) {
  int64_t lo = ndim == 0 ? -1 : -ndim, hi = ndim == 0 ? 0 : ndim - 1;
  NOVA_CHECK(dim >= lo && dim <= hi, "{}: dim {} out of range for a {}-d tensor", op, dim, ndim);
  return static_cast<int>(dim < 0 ? dim + std::max(ndim, 1) : dim);
}

}  // namespace nova
