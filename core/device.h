// core/device.h: which devices this process can use. Device itself (a type
// and an ordinal) is in core/base/device.h; counting CUDA devices asks the
// CUDA runtime (kernels/cuda/runtime.h), so it lives on this floor.
#pragma once

#include "core/base/device.h"

namespace nova {

/// Number of CUDA devices that answer; 0 when the build has no CUDA or the
/// driver reports any error (a missing GPU is never a crash).
int cuda_device_count();

/// True when at least one CUDA device answers.
inline bool cuda_is_available() { return cuda_device_count() > 0; }

}  // namespace nova
