// kernels/elementwise.h: the elementwise kernels: unary, binary with
// broadcasting, where, dtype-converting copy and fill. Outputs are written (not
// accumulated); `out` is allocated by core with the result shape on the inputs'
// device.
//
// Declared once for both back ends: the list is kernels/elementwise.def, the
// CPU versions are in kernels/cpu/elementwise.cpp and the CUDA ones in
// kernels/cuda/elementwise.cu. Kernels take Views (core/base/view.h): pointers,
// sizes and strides; core allocates, checks and records autograd.
#pragma once

#include "core/base/op_kinds.h"
#include "core/base/view.h"

#define NOVA_KERNEL(ret, name, params) ret name params;
namespace nova::cpu {
#include "kernels/elementwise.def"
}  // namespace nova::cpu
namespace nova::cuda {
#include "kernels/elementwise.def"
}  // namespace nova::cuda
#undef NOVA_KERNEL
