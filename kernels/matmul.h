// kernels/matmul.h: the batched matrix product (CPU: kernels/cpu/gemm.h,
// OpenBLAS or Eigen; CUDA: cuBLAS). Both read a transposed operand in place;
// the CUDA one needs a unit stride in one of each matrix's two dims, and core
// copies an operand that has none (matmul_reads_in_place says which).
//
// Declared once for both back ends: the list is kernels/matmul.def, the CPU
// versions are in kernels/cpu/matmul.cpp and the CUDA ones in
// kernels/cuda/matmul.cu. Kernels take Views (core/base/view.h): pointers,
// sizes and strides; core allocates, checks and records autograd.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL(ret, name, params) ret name params;
namespace nova::cpu {
#include "kernels/matmul.def"
}  // namespace nova::cpu
namespace nova::cuda {
#include "kernels/matmul.def"
}  // namespace nova::cuda
#undef NOVA_KERNEL
