// kernels/cpu/reduce.h: CPU reductions over any set of dims.
// `out` has the keepdim shape (reduced dims are 1) and is written, not
// accumulated; "the reduced dims" are those where out has size 1 and x does
// not. float32 sums accumulate in double, so a sum over a million elements
// keeps float32's precision.
#pragma once

#include "core/tensor.h"

namespace nova::cpu {

/// out = sum of x over the reduced dims.
void sum(const Tensor& x, const Tensor& out);
/// out = mean of x over those dims.
void mean(const Tensor& x, const Tensor& out);
/// out = sum (x - mean)^2 / (N - correction) over those dims (N elements
/// each), two passes in double: the one-pass sum-of-squares formula loses
/// all digits when the mean is large next to the spread.
void var(const Tensor& x, const Tensor& out, int64_t correction);
/// values = max (take_max) or min over those dims; indices (int64) = flat
/// row-major position of the first such element inside the reduced block.
/// Either output may be undefined to skip it. A NaN wins, as in PyTorch.
/// The reduced block must not be empty (core checks).
void max_min(const Tensor& x, const Tensor& values, const Tensor& indices, bool take_max);
/// out = (sum |x|^p)^(1/p) over those dims; p = 1, 2 and INFINITY (max |x|)
/// take their own loops. Accumulates in double.
void norm(const Tensor& x, const Tensor& out, double p);
/// out = m + log(sum exp(x - m)) with m the max over those dims, so that no
/// exp overflows; -inf for an empty block.
void logsumexp(const Tensor& x, const Tensor& out);

}  // namespace nova::cpu
