// kernels/ncgru_gates.h: NC-GRU's gate math fused, two kernels per step
// forward (around the candidate's matmul) and two backward (around d(rh) =
// dz U_c). Before them a step was about fourteen elementwise ops forward and
// twenty backward, each a pass over [B, H] with its own output; at the
// thesis's sizes (B 16, H 56) the ops' fixed cost was most of a training
// step. core/ncgru_recurrence.cpp calls them.
//
// Declared once, for both back ends, by the list kernels/ncgru_gates.def; the
// CPU versions are kernels/cpu/ncgru_gates.cpp, the CUDA ones
// kernels/cuda/ncgru_gates.cu, both running kernels/ncgru_gates_math.h.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/ncgru_gates.def"
#include "kernels/declare_family.h"
