// core/tensor.cpp: Tensor's accessors, argument checks, printing, in-place
// helpers, and the methods that forward to nova::ops.
#include "core/tensor.h"

#include <sstream>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/matmul.h"
#include "core/reduce.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/elementwise.h"

namespace nova {

int64_t Tensor::size(int64_t d) const { return impl_->shape[normalize_dim("size", d, dim())]; }

std::vector<View> views_of(const std::vector<Tensor>& tensors) {
  return std::vector<View>(tensors.begin(), tensors.end());
}

bool Tensor::is_contiguous() const { return is_dense_layout(impl_->shape, impl_->strides); }

double Tensor::item() const {
  NOVA_CHECK(defined(), "item: undefined tensor");
  NOVA_CHECK(numel() == 1, "item: expected a tensor with one element, got shape {}", shape().str());
  Tensor c = to(kCPU);
  return dispatch_dtype(dtype(), [&](auto tag) { return static_cast<double>(*c.data<decltype(tag)>()); });
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(kCPU).to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<bool> Tensor::to_vector<bool>() const;

Tensor Tensor::requires_grad_(bool value) const {
  NOVA_CHECK(!value || is_floating(dtype()), "requires_grad_: only floating tensors can require "
             "gradients, got {}", dtype_name(dtype()));
  NOVA_CHECK(is_leaf(), "requires_grad_: only leaves can be changed; this tensor is the result of {} "
             "(use detach() to make a new leaf)", "an op");
  impl_->requires_grad = value;
  return *this;
}

void Tensor::backward(const Tensor& grad, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, {grad}, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = impl_->storage;
  impl->shape = impl_->shape;
  impl->strides = impl_->strides;
  impl->offset = impl_->offset;
  impl->dtype = impl_->dtype;
  impl->device = impl_->device;
  return Tensor(impl);
}

void Tensor::set_data(const Tensor& source) const {
  check_defined("set_data", *this, "tensor");
  check_defined("set_data", source, "source");
  NOVA_CHECK(source.shape() == shape(), "set_data: source must have this tensor's shape {}, got {}",
             shape().str(), source.shape().str());
  impl_->storage = source.storage();
  impl_->strides = source.strides();
  impl_->offset = source.offset();
  impl_->dtype = source.dtype();
  impl_->device = source.device();
}

Tensor Tensor::storage_view(int64_t start, int64_t length) const {
  check_defined("storage_view", *this, "tensor");
  const int64_t capacity = static_cast<int64_t>(storage()->nbytes() / dtype_size(dtype()));
  NOVA_CHECK(start >= 0 && length >= 0 && start + length <= capacity,
             "storage_view: elements [{}, {}) are outside the storage of {} {} elements", start,
             start + length, capacity, dtype_name(dtype()));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage();
  impl->shape = Shape({length});
  impl->strides = Shape({1});
  impl->offset = start;
  impl->dtype = dtype();
  impl->device = device();
  return Tensor(impl);
}

Tensor Tensor::contiguous() const { return ops::contiguous(*this); }
Tensor Tensor::clone() const { return ops::clone(*this); }
Tensor Tensor::to(DType dtype) const { return ops::to_dtype(*this, dtype); }
Tensor Tensor::to(Device device) const { return ops::to_device(*this, device); }
Tensor Tensor::reshape(const Shape& shape) const { return ops::reshape(*this, shape); }
Tensor Tensor::view(const Shape& shape) const { return ops::view(*this, shape); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return ops::flatten(*this, s, e); }
Tensor Tensor::transpose(int64_t d0, int64_t d1) const { return ops::transpose(*this, d0, d1); }
Tensor Tensor::permute(const std::vector<int64_t>& dims) const { return ops::permute(*this, dims); }
Tensor Tensor::t() const { return dim() < 2 ? *this : ops::transpose(*this, 0, 1); }
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t n) const { return ops::narrow(*this, d, s, n); }
Tensor Tensor::slice(int64_t d, int64_t s, int64_t e, int64_t step) const {
  return ops::slice(*this, d, s, e, step);
}
Tensor Tensor::select(int64_t d, int64_t i) const { return ops::select(*this, d, i); }
Tensor Tensor::expand(const Shape& shape) const { return ops::expand(*this, shape); }
Tensor Tensor::squeeze() const { return ops::squeeze(*this); }
Tensor Tensor::squeeze(int64_t d) const { return ops::squeeze(*this, d); }
Tensor Tensor::unsqueeze(int64_t d) const { return ops::unsqueeze(*this, d); }
Tensor Tensor::sum() const { return ops::sum(*this); }
Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const {
  return ops::sum(*this, dims, keepdim);
}
Tensor Tensor::mean() const { return ops::mean(*this); }
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const {
  return ops::mean(*this, dims, keepdim);
}
Tensor Tensor::matmul(const Tensor& other) const { return ops::matmul(*this, other); }
Tensor Tensor::pow(double e) const { return ops::pow(*this, e); }
Tensor Tensor::exp() const { return ops::exp(*this); }
Tensor Tensor::log() const { return ops::log(*this); }
Tensor Tensor::abs() const { return ops::abs(*this); }
Tensor Tensor::sqrt() const { return ops::sqrt(*this); }

// ---- in place ----

namespace {
void check_in_place(const char* op, const Tensor& t) {
  check_defined(op, t);
  NOVA_CHECK(!(t.requires_grad() && autograd::is_grad_enabled()),
             "{}: in-place change of a tensor that requires grad (shape {}); wrap it in "
             "NoGradGuard (as optimizers do) or work on a detach()ed copy", op, t.shape().str());
}
}  // namespace

Tensor& Tensor::fill_(double value) {
  check_in_place("fill_", *this);
  trace::KernelRun kernel_run("fill_", {}, {this});
  switch (device().type) {
    case DeviceType::CPU: cpu::fill(*this, value); break;
    case DeviceType::CUDA: cuda::fill(*this, value); break;
  }
  kernel_run.finish();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  check_in_place("copy_", *this);
  check_defined("copy_", src, "source");
  broadcast_shapes("copy_", src.shape(), shape());  // validates; must broadcast to our shape
  NOVA_CHECK(src.dim() <= dim(), "copy_: cannot copy shape {} into {}", src.shape().str(), shape().str());
  Tensor s = src.device() == device() ? src : src.to(device());
  // a source that overlaps this tensor's memory would be read while written
  if (s.storage() == storage()) s = s.clone();
  trace::KernelRun kernel_run("copy_", {&s}, {this});
  switch (device().type) {
    case DeviceType::CPU: cpu::copy(s, *this); break;
    case DeviceType::CUDA: cuda::copy(s, *this); break;
  }
  kernel_run.finish();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  check_in_place("add_", *this);
  NoGradGuard no_grad;
  Tensor delta = alpha == 1.0 ? other : ops::mul(other, alpha);
  NOVA_CHECK(broadcast_shapes("add_", shape(), delta.shape()) == shape(),
             "add_: cannot add shape {} into {}", other.shape().str(), shape().str());
  // Truly in place (the add kernel writing what it reads, element by
  // element) when that is safe: *this is dense, so no two elements share
  // memory, and delta lives in other memory, so no write lands on an element
  // still to be read. Otherwise add into a new tensor and copy it back.
  if (is_contiguous() && delta.dtype() == dtype() && delta.device() == device() &&
      delta.storage() != storage()) {
    trace::KernelRun kernel_run("add_", {&delta}, {this});
    switch (device().type) {
      case DeviceType::CPU: cpu::binary(BinaryKind::Add, *this, delta, *this); break;
      case DeviceType::CUDA: cuda::binary(BinaryKind::Add, *this, delta, *this); break;
    }
    kernel_run.finish();
    return *this;
  }
  return copy_(ops::add(*this, delta));
}

Tensor& Tensor::mul_(double value) {
  check_in_place("mul_", *this);
  NoGradGuard no_grad;
  return copy_(ops::mul(*this, value));
}

// ---- printing ----

std::string Tensor::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

namespace {
constexpr int64_t kEdgeItems = 3;    // values shown at each end of a long dim
constexpr int64_t kSummarizeAbove = 1000;

void print_values(std::ostream& os, const Tensor& t, int d, int64_t offset, bool summarize,
                  const std::function<std::string(int64_t)>& value) {
  if (t.dim() == 0) {
    os << value(offset);
    return;
  }
  int64_t n = t.size(d);
  os << "[";
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << "..., ";
      i = n - kEdgeItems - 1;
      continue;
    }
    if (i) os << (d == t.dim() - 1 ? ", " : ",\n" + std::string(d + 1, ' '));
    int64_t off = offset + i * t.strides()[d];
    if (d == t.dim() - 1) {
      os << value(off);
    } else {
      print_values(os, t, d + 1, off, summarize, value);
    }
  }
  os << "]";
}
}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "Tensor(undefined)";
  Tensor c = t.to(kCPU);
  os << "Tensor(shape=" << t.shape().str() << ", dtype=" << dtype_name(t.dtype())
     << ", device=" << t.device().str();
  if (t.requires_grad()) os << ", requires_grad";
  os << ")\n";
  bool summarize = t.numel() > kSummarizeAbove;
  dispatch_dtype(c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = c.data<T>();
    print_values(os, c, 0, 0, summarize, [&](int64_t off) {
      if constexpr (std::is_floating_point_v<T>) return fmt::format("{:.6g}", p[off]);
      else if constexpr (std::is_same_v<T, bool>) return std::string(p[off] ? "true" : "false");
      else return fmt::format("{}", p[off]);
    });
  });
  return os;
}

// ---- checks ----

void check_defined(const char* op, const Tensor& x, const char* what) {
  NOVA_CHECK(x.defined(), "{}: {} is an undefined tensor", op, what);
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    NOVA_CHECK(t->device() == first->device(), "{}: inputs on different devices ({}, {})", op,
               first->device().str(), t->device().str());
  }
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  NOVA_CHECK(a.dtype() == b.dtype(), "{}: dtype mismatch ({} {} vs {} {}); convert one with .to(dtype)",
             op, dtype_name(a.dtype()), a.shape().str(), dtype_name(b.dtype()), b.shape().str());
}

void check_floating(const char* op, const Tensor& x) {
  NOVA_CHECK(is_floating(x.dtype()), "{}: expected a floating tensor (float32 or float64), got {} {}",
             op, dtype_name(x.dtype()), x.shape().str());
}

}  // namespace nova
