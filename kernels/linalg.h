// kernels/linalg.h: batched inverse and linear solve through a partial-pivoting
// LU (getrf/getrs in LAPACK terms): Eigen on the CPU, cuSOLVER on CUDA. Inputs
// may have any strides (expanded batch dims included); outputs are contiguous
// and overwritten. A singular matrix throws nova::Error naming the op and the
// matrix's flat index in the batch (kernels/cuda/linalg.cu says how singular is
// decided on the GPU).
//
// Declared once for both back ends: the list is kernels/linalg.def, the CPU
// versions are in kernels/cpu/linalg.cpp and the CUDA ones in
// kernels/cuda/linalg.cu. Kernels take Views (core/base/view.h): pointers,
// sizes and strides; core allocates, checks and records autograd.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL(ret, name, params) ret name params;
namespace nova::cpu {
#include "kernels/linalg.def"
}  // namespace nova::cpu
namespace nova::cuda {
#include "kernels/linalg.def"
}  // namespace nova::cuda
#undef NOVA_KERNEL
