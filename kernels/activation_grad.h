// kernels/activation_grad.h: activation backwards in one pass over memory:
// tanh and sigmoid, out = grad * f'(y) from the saved output y, and relu and
// leaky_relu, out = grad * (x > 0 ? 1 : slope). Written out with ops (mul,
// neg, add, mul) the tanh backward is four passes and three temporaries; on
// the small MLPs of the 8-Gaussian GAN those passes were a tenth of a
// training step; leaky_relu's (gt, mul, where) and relu's (gt, a bool to
// float copy, mul) are three each, over every activation of a conv GAN.
// core calls them when the backward records no graph (create_graph keeps
// the differentiable formula).
//
// Declared once, for both back ends, by the list kernels/activation_grad.def;
// the CPU version is kernels/cpu/activation_grad.cpp (compiled without
// floating-point contraction, see kernels/CMakeLists.txt), the CUDA one
// kernels/cuda/activation_grad.cu.
#pragma once

#include "core/base/op_kinds.h"
#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/activation_grad.def"
#include "kernels/declare_family.h"
