// kernels/cuda/stub.cpp: the CUDA entry points of a build without CUDA.
// Same declarations as the .cu files, so core needs no #ifdef.
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

int device_count() { return 0; }
bool built_with_cuda() { return false; }

}  // namespace nova::cuda
