// kernels/cpu/reduce.h: CPU reductions over any set of dims.
// `out` has the keepdim shape (reduced dims are 1) and is written, not
// accumulated. float32 sums accumulate in double, so a sum over a million
// elements keeps float32's precision.
#pragma once

#include "core/tensor.h"

namespace nova::cpu {

/// out = sum of x over the dims where out has size 1 and x does not.
void sum(const Tensor& x, const Tensor& out);
/// out = mean of x over those dims.
void mean(const Tensor& x, const Tensor& out);

}  // namespace nova::cpu
