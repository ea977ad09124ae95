// kernels/softmax.h: softmax and log_softmax along one dim:
//   softmax      y[.., i, ..] = exp(x_i - m) / sum_j exp(x_j - m)
//   log_softmax  y[.., i, ..] = x_i - m - log(sum_j exp(x_j - m))
// with m = max_j x_j, so no exp overflows. x may have any strides; out is
// contiguous with x's shape and is overwritten. Backward is written with ops
// in core/softmax.cpp, so there is no backward kernel.
//
// Declared once for both back ends: the list is kernels/softmax.def, the CPU
// versions are in kernels/cpu/softmax.cpp and the CUDA ones in
// kernels/cuda/softmax.cu. Kernels take Views (core/base/view.h): pointers,
// sizes and strides; core allocates, checks and records autograd.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL(ret, name, params) ret name params;
namespace nova::cpu {
#include "kernels/softmax.def"
}  // namespace nova::cpu
namespace nova::cuda {
#include "kernels/softmax.def"
}  // namespace nova::cuda
#undef NOVA_KERNEL
