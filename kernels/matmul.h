// kernels/matmul.h: the batched matrix product (CPU: kernels/cpu/gemm.h,
// OpenBLAS or Eigen; CUDA: cuBLAS). Both read a transposed operand in place;
// the CUDA one needs a unit stride in one of each matrix's two dims, and core
// copies an operand that has none (matmul_reads_in_place says which).
//
// Declared once, for both back ends, by the list kernels/matmul.def; the CPU
// versions are in kernels/cpu/matmul.cpp, the CUDA ones in
// kernels/cuda/matmul.cu.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/matmul.def"
#include "kernels/declare_family.h"
