// core/device.cpp: counting CUDA devices through the CUDA back end (which
// answers 0 in a build without CUDA).
#include "core/device.h"

#include "kernels/cuda/runtime.h"

namespace nova {

int cuda_device_count() { return cuda::device_count(); }

}  // namespace nova
