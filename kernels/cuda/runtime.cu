// kernels/cuda/runtime.cu: device discovery through the CUDA runtime.
// Any error means "no device": machines without a GPU (CI, the developers'
// machines) return an error from cudaGetDeviceCount, and that is not a crash.
#include "kernels/cuda/runtime.h"

#include <cuda_runtime.h>

namespace nova::cuda {

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return count;
}

bool built_with_cuda() { return true; }

}  // namespace nova::cuda
