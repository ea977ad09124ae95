// kernels/random.h: fill tensors from the Philox stream (core/base/philox.h
// fixes which block and lane feeds each element, so a GPU thread computes the
// CPU's value for the same seed and offset). `out` is contiguous; `offset` is
// the first block of the draw.
//
// Declared once, for both back ends, by the list kernels/random.def; the CPU
// versions are in kernels/cpu/random.cpp, the CUDA ones in
// kernels/cuda/random.cu.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/random.def"
#include "kernels/declare_family.h"
