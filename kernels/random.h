// kernels/random.h: fill tensors from the Philox stream (core/base/philox.h
// fixes which block and lane feeds each element, so a GPU thread computes the
// CPU's value for the same seed and offset). `out` is contiguous; `offset` is
// the first block of the draw.
//
// Declared once for both back ends: the list is kernels/random.def, the CPU
// versions are in kernels/cpu/random.cpp and the CUDA ones in
// kernels/cuda/random.cu. Kernels take Views (core/base/view.h): pointers,
// sizes and strides; core allocates, checks and records autograd.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL(ret, name, params) ret name params;
namespace nova::cpu {
#include "kernels/random.def"
}  // namespace nova::cpu
namespace nova::cuda {
#include "kernels/random.def"
}  // namespace nova::cuda
#undef NOVA_KERNEL
