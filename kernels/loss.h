// kernels/loss.h: the kernel behind nll_loss's target check. The loss itself is
// composed of ops (gather, where) in core/loss.cpp; this loop only validates
// the labels first, so that a bad one is reported by value and position under
// the loss's name, and counts the non-ignored ones for Mean.
//
// Declared once for both back ends: the list is kernels/loss.def, the CPU
// versions are in kernels/cpu/loss.cpp and the CUDA ones in
// kernels/cuda/loss.cu. Kernels take Views (core/base/view.h): pointers, sizes
// and strides; core allocates, checks and records autograd.
#pragma once

#include <cstdint>

#include "core/base/view.h"

#define NOVA_KERNEL(ret, name, params) ret name params;
namespace nova::cpu {
#include "kernels/loss.def"
}  // namespace nova::cpu
namespace nova::cuda {
#include "kernels/loss.def"
}  // namespace nova::cuda
#undef NOVA_KERNEL
