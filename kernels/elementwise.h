// kernels/elementwise.h: the elementwise kernels: unary, binary with
// broadcasting, where, dtype-converting copy and fill. Outputs are written (not
// accumulated); `out` is allocated by core with the result shape on the inputs'
// device.
//
// Declared once, for both back ends, by the list kernels/elementwise.def; the
// CPU versions are in kernels/cpu/elementwise.cpp, the CUDA ones in
// kernels/cuda/elementwise.cu.
#pragma once

#include "core/base/op_kinds.h"
#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/elementwise.def"
#include "kernels/declare_family.h"
