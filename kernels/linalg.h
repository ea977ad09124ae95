// kernels/linalg.h: batched inverse and linear solve through a partial-pivoting
// LU (getrf/getrs in LAPACK terms), and the symmetric eigendecomposition
// (syevd): Eigen on the CPU, cuSOLVER on CUDA. Inputs
// may have any strides (expanded batch dims included); outputs are contiguous
// and overwritten. A singular matrix throws nova::Error naming the op and the
// matrix's flat index in the batch (kernels/cuda/linalg.cu says how singular is
// decided on the GPU).
//
// Declared once, for both back ends, by the list kernels/linalg.def; the CPU
// versions are in kernels/cpu/linalg.cpp, the CUDA ones in
// kernels/cuda/linalg.cu.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/linalg.def"
#include "kernels/declare_family.h"
