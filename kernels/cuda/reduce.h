// kernels/cuda/reduce.h: CUDA reductions over any set of dims; the same
// functions and semantics as kernels/cpu/reduce.h (out has the keepdim shape,
// the reduced dims are those where out has size 1). Sums of float32 also
// accumulate in double, as on the CPU. Plain C++: implemented in reduce.cu,
// or in stub.cpp (throwing) in a build without CUDA.
#pragma once

#include "core/tensor.h"

namespace nova::cuda {

/// out = sum of x over the reduced dims (int32/int64 accumulate in int64; bool refused).
void sum(const Tensor& x, const Tensor& out);
/// out = mean of x over those dims (NaN for an empty block).
void mean(const Tensor& x, const Tensor& out);
/// out = sum (x - mean)^2 / (N - correction), two passes in double.
void var(const Tensor& x, const Tensor& out, int64_t correction);
/// values and/or indices (int64, flat row-major position inside the reduced
/// block) of the max (take_max) or min; ties keep the first index, a NaN wins.
void max_min(const Tensor& x, const Tensor& values, const Tensor& indices, bool take_max);
/// out = (sum |x|^p)^(1/p); p = 1, 2, INFINITY have their own loops.
void norm(const Tensor& x, const Tensor& out, double p);
/// out = m + log(sum exp(x - m)), m the max; -inf for an empty block.
void logsumexp(const Tensor& x, const Tensor& out);

}  // namespace nova::cuda
