// kernels/reduce.h: reductions over any set of dims. `out` has the keepdim
// shape (reduced dims are 1) and is written, not accumulated; "the reduced
// dims" are those where out has size 1 and x does not. float32 sums accumulate
// in double on both back ends, so a sum over a million elements keeps float32's
// precision.
//
// Declared once for both back ends: the list is kernels/reduce.def, the CPU
// versions are in kernels/cpu/reduce.cpp and the CUDA ones in
// kernels/cuda/reduce.cu. Kernels take Views (core/base/view.h): pointers,
// sizes and strides; core allocates, checks and records autograd.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL(ret, name, params) ret name params;
namespace nova::cpu {
#include "kernels/reduce.def"
}  // namespace nova::cpu
namespace nova::cuda {
#include "kernels/reduce.def"
}  // namespace nova::cuda
#undef NOVA_KERNEL
