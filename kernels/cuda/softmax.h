// kernels/cuda/softmax.h: softmax and log_softmax along one dim on CUDA,
// the same functions and formulas as kernels/cpu/softmax.h (x any strides,
// out contiguous with x's shape). Plain C++: implemented in softmax.cu, or in
// stub.cpp (throwing) in a build without CUDA.
#pragma once

#include "core/tensor.h"

namespace nova::cuda {

/// out = softmax of x along dim (dim already normalised to [0, x.dim())).
void softmax_forward(const Tensor& x, int dim, const Tensor& out);
/// out = log_softmax of x along dim (dim already normalised).
void log_softmax_forward(const Tensor& x, int dim, const Tensor& out);

}  // namespace nova::cuda
