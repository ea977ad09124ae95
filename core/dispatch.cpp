// core/dispatch.cpp: shared pieces of the per-op device switch.
#include "core/dispatch.h"

namespace nova {

void no_cuda_kernel(const char* op, Device device) {
  fail("{}: no CUDA kernel in this build (tensor on {})", op, device.str());
}

}  // namespace nova

#include "kernels/cuda/runtime.h"

namespace nova {

int cuda_device_count() { return cuda::device_count(); }

}  // namespace nova
