// kernels/cuda/segment_stub.cpp: the CUDA entry points of kernels/cuda/segment.h
// in a build without CUDA (see stub.cpp): each says "built without CUDA".
#include "kernels/cuda/runtime.h"
#include "kernels/cuda/segment.h"

namespace nova::cuda {

void segment_sum(const Tensor&, const std::vector<int64_t>&, const Tensor&) {
  built_without_cuda("segment_sum");
}

}  // namespace nova::cuda
