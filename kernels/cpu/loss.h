// kernels/cpu/loss.h: the CPU kernel behind nll_loss's target check. The loss
// itself is composed of ops (gather, where) in core/loss.cpp; this loop only
// validates the labels first, so that a bad one is reported by value and
// position under the loss's name, and counts the non-ignored ones for Mean.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace nova::cpu {

/// Throws nova::Error naming `op`, the bad value and its position unless every
/// target (contiguous int64) is in [0, C) or equals ignore_index; returns how
/// many are not ignored.
int64_t nll_check_targets(const char* op, const Tensor& target, int64_t C, int64_t ignore_index);

}  // namespace nova::cpu
