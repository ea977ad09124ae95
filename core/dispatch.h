// core/dispatch.h: what every op in core does before and around a kernel call.
// Ops `switch` on the device type directly (no dispatcher tables: the switch
// is the cheapest and most readable dispatch there is); this header holds the
// shared pieces of that pattern.
#pragma once

#include "core/tensor.h"

namespace nova {

/// The CUDA branch of an op's device switch until the CUDA backend provides
/// the kernel; throws "op: no CUDA kernel in this build (tensor on cuda:0)".
[[noreturn]] void no_cuda_kernel(const char* op, Device device);

}  // namespace nova
