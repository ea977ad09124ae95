// kernels/normalization.h: forward kernels of layer_norm and batch_norm. They see
// contiguous tensors already viewed as 2-D / 3-D by core:
//   layer_norm: x [rows, cols], statistics per row (over the normalized dims)
//   batch_norm: x [N, C, L], statistics per channel c (over N and L)
// Statistics are accumulated in double (two passes: mean, then squared
// deviations) so float32 inputs with a large mean keep their precision.
// Every output is written, not accumulated. The backward passes are written
// with ops in core/normalization.cpp.
//
// Declared once, for both back ends, by the list kernels/normalization.def; the
// CPU versions are in kernels/cpu/normalization.cpp, the CUDA ones in
// kernels/cuda/normalization.cu.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/normalization.def"
#include "kernels/declare_family.h"
