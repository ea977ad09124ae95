// kernels/cuda/loss.h: nll_loss's target check on CUDA, the same function as
// kernels/cpu/loss.h. Plain C++: implemented in loss.cu, or in stub.cpp
// (throwing) in a build without CUDA.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace nova::cuda {

/// Throws nova::Error naming `op`, the bad value and its position (the first
/// bad one in flat order, as the CPU's loop reports) unless every target
/// (contiguous int64 on a CUDA device) is in [0, C) or equals ignore_index;
/// returns how many are not ignored. Synchronises with the device's stream
/// (it copies two numbers back).
int64_t nll_check_targets(const char* op, const Tensor& target, int64_t C, int64_t ignore_index);

}  // namespace nova::cuda
