// kernels/softmax.h: softmax and log_softmax along one dim:
//   softmax      y[.., i, ..] = exp(x_i - m) / sum_j exp(x_j - m)
//   log_softmax  y[.., i, ..] = x_i - m - log(sum_j exp(x_j - m))
// with m = max_j x_j, so no exp overflows. x may have any strides; out is
// contiguous with x's shape and is overwritten. Backward is written with ops
// in core/softmax.cpp, so there is no backward kernel.
//
// Declared once, for both back ends, by the list kernels/softmax.def; the CPU
// versions are in kernels/cpu/softmax.cpp, the CUDA ones in
// kernels/cuda/softmax.cu.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/softmax.def"
#include "kernels/declare_family.h"
