// core/factory.h: functions that make new tensors (zeros, arange, randn, ...).
// Every factory takes the dtype and device last (float32 on the CPU by
// default); random ones take an optional Generator (the default one if null).
#pragma once

#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace nova {

/// Uninitialised contiguous tensor.
Tensor empty(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor zeros(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor ones(const Shape& shape, DType dtype = kFloat32, Device device = kCPU);
Tensor full(const Shape& shape, double value, DType dtype = kFloat32, Device device = kCPU);
/// 0-d tensor holding value.
Tensor scalar_tensor(double value, DType dtype = kFloat32, Device device = kCPU);

/// 0, 1, ..., end-1 (int64 by default, like torch.arange(int)).
Tensor arange(int64_t end, DType dtype = kInt64, Device device = kCPU);
/// start, start+step, ... while < end (> end for a negative step).
Tensor arange(double start, double end, double step = 1.0, DType dtype = kFloat32,
              Device device = kCPU);
/// `steps` evenly spaced values from start to end inclusive.
Tensor linspace(double start, double end, int64_t steps, DType dtype = kFloat32, Device device = kCPU);
/// n x m identity (m = n when m < 0).
Tensor eye(int64_t n, int64_t m = -1, DType dtype = kFloat32, Device device = kCPU);

/// Tensor with a copy of `values` in row-major order; shape defaults to 1-D
/// [values.size()]. The dtype follows T (float -> float32, double -> float64,
/// int64_t -> int64, int32_t -> int32, bool -> bool) unless given.
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);
template <typename T>
Tensor from_vector(const std::vector<T>& values) {
  return from_vector(values, Shape{static_cast<int64_t>(values.size())});
}
/// Same, converting the values to `dtype`.
Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype,
                   Device device = kCPU);

/// Uniform in [low, high).
Tensor rand(const Shape& shape, DType dtype = kFloat32, Device device = kCPU,
            Generator* gen = nullptr);
Tensor uniform(const Shape& shape, double low, double high, DType dtype = kFloat32,
               Device device = kCPU, Generator* gen = nullptr);
/// Normal with mean 0 and std 1.
Tensor randn(const Shape& shape, DType dtype = kFloat32, Device device = kCPU,
             Generator* gen = nullptr);
Tensor normal(const Shape& shape, double mean, double std, DType dtype = kFloat32,
              Device device = kCPU, Generator* gen = nullptr);
/// Integers uniform in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = kInt64,
               Device device = kCPU, Generator* gen = nullptr);
/// 1 with probability p, else 0.
Tensor bernoulli(const Shape& shape, double p, DType dtype = kFloat32, Device device = kCPU,
                 Generator* gen = nullptr);
/// Elementwise: 1 with probability probs[i] (probs in [0, 1]), same shape and dtype.
Tensor bernoulli(const Tensor& probs, Generator* gen = nullptr);
/// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n, Device device = kCPU, Generator* gen = nullptr);

Tensor empty_like(const Tensor& t);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor rand_like(const Tensor& t, Generator* gen = nullptr);
Tensor randn_like(const Tensor& t, Generator* gen = nullptr);

}  // namespace nova
