// kernels/reduce.h: reductions over any set of dims. `out` has the keepdim
// shape (reduced dims are 1) and is written, not accumulated; "the reduced
// dims" are those where out has size 1 and x does not. float32 sums accumulate
// in double on both back ends, so a sum over a million elements keeps float32's
// precision.
//
// Declared once, for both back ends, by the list kernels/reduce.def; the CPU
// versions are in kernels/cpu/reduce.cpp, the CUDA ones in
// kernels/cuda/reduce.cu.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/reduce.def"
#include "kernels/declare_family.h"
