// kernels/optim.h: fused optimizer-step kernels and the one-pass products of
// the adaptive-weighting step.
//
// Each step kernel is one pass over contiguous memory that reads the gradient
// once and updates the parameter and its state buffers in place: no
// temporaries, so an Adam step over N values touches 4N (5N with amsgrad)
// numbers once instead of the dozen passes that a composition of elementwise
// ops would make. The update rules are written out in core/optim.h; the CUDA
// kernels use the CPU's formulas in the same order.
//
// All tensors are contiguous, of one floating dtype and one shape (core
// checks); an optional state buffer that the options do not use is an undefined
// View.
//
// Declared once, for both back ends, by the list kernels/optim.def; the CPU
// versions are in kernels/cpu/optim.cpp, the CUDA ones in
// kernels/cuda/optim.cu.
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/optim.def"
#include "kernels/declare_family.h"
