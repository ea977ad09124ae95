// kernels/cuda/segment.cu: per-segment row sums (see kernels/segment.h), mirroring
// kernels/cpu/segment.cpp.
//   out[k, j] = sum_{r in segment k} x[r, j]     x [N, M], out [K, M]
// One block per (32 columns, segment): a 32 x 8 thread tile whose threadIdx.x
// picks the column (a warp reads 32 adjacent floats of one row: coalesced) and
// whose threadIdx.y strides over the segment's rows by 8. Each thread keeps a
// double partial; the 8 partials of a column are added in shared memory in a
// fixed order, so results are deterministic (no atomics). The segment
// offsets travel by value in the launch parameters (up to kSegmentsPerLaunch
// segments, 2 KB), so a call costs one launch and no host-to-device copy;
// more segments take one launch per 256.
#include "kernels/segment.h"

#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

namespace {

constexpr int kSegmentsPerLaunch = 256;
constexpr int kColsPerBlock = 32;
constexpr int kRowThreads = 8;

struct Offsets {
  int64_t at[kSegmentsPerLaunch + 1];  // segment k: rows [at[k], at[k+1])
};

template <typename T>
__global__ void segment_sum_kernel(const T* x, T* out, Offsets offsets, int64_t m) {
  __shared__ double partial[kRowThreads][kColsPerBlock + 1];  // +1: no bank conflicts
  const int k = blockIdx.y;
  const int64_t col = int64_t(blockIdx.x) * kColsPerBlock + threadIdx.x;
  double acc = 0;
  if (col < m)
    for (int64_t r = offsets.at[k] + threadIdx.y; r < offsets.at[k + 1]; r += kRowThreads)
      acc += double(x[r * m + col]);
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < m) {
    for (int i = 1; i < kRowThreads; ++i) acc += partial[i][threadIdx.x];
    out[int64_t(k) * m + col] = T(acc);
  }
}

}  // namespace

void segment_sum(const View& x, const std::vector<int64_t>& offsets, const View& out) {
  const int64_t k_segments = static_cast<int64_t>(offsets.size()) - 1;
  const int64_t m = out.size(1);
  if (k_segments == 0 || m == 0) return;
  DeviceGuard guard(out.device().index);
  cudaStream_t s = static_cast<cudaStream_t>(nova::cuda::stream(out.device().index));
  dispatch_floating("segment_sum", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* px = x.data<T>();
    T* po = out.data<T>();
    const dim3 block(kColsPerBlock, kRowThreads);
    const unsigned col_blocks = unsigned((m + kColsPerBlock - 1) / kColsPerBlock);
    for (int64_t first = 0; first < k_segments; first += kSegmentsPerLaunch) {
      const int64_t count = std::min<int64_t>(kSegmentsPerLaunch, k_segments - first);
      Offsets o;
      for (int64_t i = 0; i <= count; ++i) o.at[i] = offsets[first + i];
      segment_sum_kernel<T><<<dim3(col_blocks, unsigned(count)), block, 0, s>>>(px, po + first * m, o, m);
      NOVA_CUDA_LAUNCH_CHECK("segment_sum");
    }
  });
}

}  // namespace nova::cuda
