// core/factory.cpp: tensor factories (see factory.h).
#include "core/factory.h"

#include <cmath>
#include <cstring>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"

namespace nova {

namespace {

void check_shape(const char* op, const Shape& shape) {
  for (int64_t d : shape)
    NOVA_CHECK(d >= 0, "{}: negative size in shape {}", op, shape.str());
}

Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }

/// Makes the tensor on the CPU, then moves it: arange, linspace and eye are
/// small and built once, so they skip a device kernel of their own. full and
/// the random factories fill on the device (same numbers as the CPU).
template <typename Fill>
Tensor make_on_cpu(const Shape& shape, DType dtype, Device device, Fill fill) {
  Tensor t = empty(shape, dtype, kCPU);
  fill(t);
  return device.is_cpu() ? t : t.to(device);
}

}  // namespace

Tensor empty(const Shape& shape, DType dtype, Device device) {
  check_shape("empty", shape);
  // numel() fits int64, numel * 8 may not fit size_t: a wrapped count would
  // allocate a few bytes for a huge tensor
  size_t nbytes = 0;
  if (__builtin_mul_overflow(size_t(shape.numel()), dtype_size(dtype), &nbytes))
    fail("empty: shape {} of {} needs more than 2^64 bytes", shape.str(), dtype_name(dtype));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(nbytes, device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  impl->device = device;
  return Tensor(impl);
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  trace::KernelRun kernel_run("fill", {}, {&t});
  switch (device.type) {
    case DeviceType::CPU: cpu::fill(t, value); break;
    case DeviceType::CUDA: cuda::fill(t, value); break;
  }
  kernel_run.finish();
  return t;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full(Shape(), value, dtype, device); }

Tensor arange(int64_t end, DType dtype, Device device) {
  NOVA_CHECK(end >= 0, "arange: end must be >= 0, got {}", end);
  return arange(0.0, double(end), 1.0, dtype, device);
}

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  NOVA_CHECK(step != 0, "arange: step must be nonzero");
  NOVA_CHECK((end - start) / step >= 0, "arange: step {} does not lead from {} to {}", step, start, end);
  int64_t n = int64_t(std::ceil((end - start) / step));
  return make_on_cpu({n}, dtype, device, [&](Tensor& t) {
    dispatch_dtype(dtype, [&](auto tag) {
      using T = decltype(tag);
      T* p = t.data<T>();
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + double(i) * step);
    });
  });
}

Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device) {
  NOVA_CHECK(steps >= 0, "linspace: steps must be >= 0, got {}", steps);
  return make_on_cpu({steps}, dtype, device, [&](Tensor& t) {
    dispatch_dtype(dtype, [&](auto tag) {
      using T = decltype(tag);
      T* p = t.data<T>();
      double step = steps > 1 ? (end - start) / double(steps - 1) : 0.0;
      for (int64_t i = 0; i < steps; ++i)
        p[i] = static_cast<T>(i == steps - 1 ? end : start + double(i) * step);
    });
  });
}

Tensor eye(int64_t n, int64_t m, DType dtype, Device device) {
  if (m < 0) m = n;
  NOVA_CHECK(n >= 0, "eye: n must be >= 0, got {}", n);
  return make_on_cpu({n, m}, dtype, device, [&](Tensor& t) {
    cpu::fill(t, 0.0);
    dispatch_dtype(dtype, [&](auto tag) {
      using T = decltype(tag);
      T* p = t.data<T>();
      for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = T(1);
    });
  });
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  NOVA_CHECK(int64_t(values.size()) == shape.numel(), "from_vector: {} values for shape {} ({} elements)",
             values.size(), shape.str(), shape.numel());
  Tensor t = empty(shape, dtype_of<T>(), kCPU);
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];  // vector<bool> has no data()
  return t;
}
template Tensor from_vector(const std::vector<float>&, const Shape&);
template Tensor from_vector(const std::vector<double>&, const Shape&);
template Tensor from_vector(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector(const std::vector<bool>&, const Shape&);

Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype, Device device) {
  return from_vector(values, shape).to(dtype).to(device);
}

Tensor uniform(const Shape& shape, double low, double high, DType dtype, Device device, Generator* gen) {
  check_shape("rand", shape);
  Generator& g = pick(gen);
  uint64_t offset = g.reserve(uniform_blocks(dtype == kFloat64, shape.numel()));
  Tensor t = empty(shape, dtype, device);
  trace::KernelRun kernel_run("uniform", {}, {&t});
  switch (device.type) {
    case DeviceType::CPU: cpu::fill_uniform(t, g.seed(), offset, low, high); break;
    case DeviceType::CUDA: cuda::fill_uniform(t, g.seed(), offset, low, high); break;
  }
  kernel_run.finish();
  return t;
}

Tensor rand(const Shape& shape, DType dtype, Device device, Generator* gen) {
  return uniform(shape, 0.0, 1.0, dtype, device, gen);
}

Tensor normal(const Shape& shape, double mean, double std, DType dtype, Device device, Generator* gen) {
  check_shape("randn", shape);
  Generator& g = pick(gen);
  uint64_t offset = g.reserve(normal_blocks(dtype == kFloat64, shape.numel()));
  Tensor t = empty(shape, dtype, device);
  trace::KernelRun kernel_run("normal", {}, {&t});
  switch (device.type) {
    case DeviceType::CPU: cpu::fill_normal(t, g.seed(), offset, mean, std); break;
    case DeviceType::CUDA: cuda::fill_normal(t, g.seed(), offset, mean, std); break;
  }
  kernel_run.finish();
  return t;
}

Tensor randn(const Shape& shape, DType dtype, Device device, Generator* gen) {
  return normal(shape, 0.0, 1.0, dtype, device, gen);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device, Generator* gen) {
  check_shape("randint", shape);
  NOVA_CHECK(low < high, "randint: empty range [{}, {})", low, high);
  Generator& g = pick(gen);
  uint64_t offset = g.reserve(integer_blocks(shape.numel()));
  Tensor t = empty(shape, dtype, device);
  trace::KernelRun kernel_run("randint", {}, {&t});
  switch (device.type) {
    case DeviceType::CPU: cpu::fill_randint(t, g.seed(), offset, low, high); break;
    case DeviceType::CUDA: cuda::fill_randint(t, g.seed(), offset, low, high); break;
  }
  kernel_run.finish();
  return t;
}

Tensor bernoulli(const Shape& shape, double p, DType dtype, Device device, Generator* gen) {
  NOVA_CHECK(p >= 0 && p <= 1, "bernoulli: probability must be in [0, 1], got {}", p);
  DType udtype = dtype == kFloat64 ? kFloat64 : kFloat32;
  return ops::lt(rand(shape, udtype, device, gen), p).to(dtype);
}

Tensor bernoulli(const Tensor& probs, Generator* gen) {
  check_floating("bernoulli", probs);
  NoGradGuard no_grad;
  return ops::lt(rand(probs.shape(), probs.dtype(), probs.device(), gen), probs).to(probs.dtype());
}

Tensor randperm(int64_t n, Device device, Generator* gen) {
  NOVA_CHECK(n >= 0, "randperm: n must be >= 0, got {}", n);
  // Fisher-Yates driven by one randint draw per position
  Tensor r = randint(0, std::numeric_limits<int32_t>::max(), {n}, kInt64, kCPU, gen);
  Tensor t = arange(n);
  int64_t* p = t.data<int64_t>();
  const int64_t* rp = r.data<int64_t>();
  for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[rp[i] % (i + 1)]);
  return t.to(device);
}

Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype(), t.device()); }
Tensor full_like(const Tensor& t, double v) { return full(t.shape(), v, t.dtype(), t.device()); }
Tensor rand_like(const Tensor& t, Generator* gen) { return rand(t.shape(), t.dtype(), t.device(), gen); }
Tensor randn_like(const Tensor& t, Generator* gen) { return randn(t.shape(), t.dtype(), t.device(), gen); }

}  // namespace nova
