// kernels/loss.h: the kernel behind nll_loss's target check. The loss itself is
// composed of ops (gather, where) in core/loss.cpp; this loop only validates
// the labels first, so that a bad one is reported by value and position under
// the loss's name, and counts the non-ignored ones for Mean.
//
// Declared once, for both back ends, by the list kernels/loss.def; the CPU
// versions are in kernels/cpu/loss.cpp, the CUDA ones in kernels/cuda/loss.cu.
#pragma once

#include <cstdint>

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/loss.def"
#include "kernels/declare_family.h"
