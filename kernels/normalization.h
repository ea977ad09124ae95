// kernels/normalization.h: forward kernels of layer_norm and batch_norm. They see
// contiguous tensors already viewed as 2-D / 3-D by core:
//   layer_norm: x [rows, cols], statistics per row (over the normalized dims)
//   batch_norm: x [N, C, L], statistics per channel c (over N and L)
// Statistics are accumulated in double (two passes: mean, then squared
// deviations) so float32 inputs with a large mean keep their precision.
// Every output is written, not accumulated. The backward passes are written
// with ops in core/normalization.cpp.
//
// Declared once for both back ends: the list is kernels/normalization.def, the
// CPU versions are in kernels/cpu/normalization.cpp and the CUDA ones in
// kernels/cuda/normalization.cu. Kernels take Views (core/base/view.h):
// pointers, sizes and strides; core allocates, checks and records autograd.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL(ret, name, params) ret name params;
namespace nova::cpu {
#include "kernels/normalization.def"
}  // namespace nova::cpu
namespace nova::cuda {
#include "kernels/normalization.def"
}  // namespace nova::cuda
#undef NOVA_KERNEL
