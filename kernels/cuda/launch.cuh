// kernels/cuda/launch.cuh: what the grid-stride kernels of this folder share:
// the block size, the grid size, and nova's stream for a View's device. One
// place, so that a learner tuning the launch shape changes it everywhere.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/base/view.h"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

/// Threads per block of the grid-stride kernels.
constexpr int kThreads = 256;

/// Blocks for `work` elements at one per thread: at least 1, at most
/// max_blocks (2^16 by default: beyond 16M threads the loops stride).
inline int blocks_for(int64_t work, int64_t max_blocks = int64_t(1) << 16) {
  return int(std::min<int64_t>(std::max<int64_t>((work + kThreads - 1) / kThreads, 1), max_blocks));
}

/// nova's stream on t's device: every kernel and copy there is ordered on it.
inline cudaStream_t stream_of(const View& t) {
  return static_cast<cudaStream_t>(stream(t.device().index));
}

}  // namespace nova::cuda
