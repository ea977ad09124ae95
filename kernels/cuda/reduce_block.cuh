// kernels/cuda/reduce_block.cuh: the device pieces shared by the reduction
// and softmax kernels: a "group" of G threads (one thread, one warp, G = 32,
// or the whole block, G = blockDim.x) folds one output; group_allreduce combines the
// group's partial states with __shfl_xor_sync inside each warp, then through
// shared memory across warps, and hands every thread of the group the same
// result (softmax and var need the first pass's result in every thread).
// Combining is in a fixed order, so results are deterministic run to run.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "core/base/shape.h"
#include "kernels/cuda/check.cuh"

namespace nova::cuda::detail {

constexpr int kReduceThreads = 256;
constexpr int kWarp = 32;

/// Sizes and strides of up to kMaxDims dims, passed to kernels by value.
struct Dims {
  int n = 0;
  int64_t size[kMaxDims] = {};
  int64_t stride[kMaxDims] = {};
};

/// sum_d i_d * stride[d] for the row-major index `flat` over d.size.
__device__ __forceinline__ int64_t offset_of(const Dims& d, int64_t flat) {
  int64_t off = 0;
  for (int i = d.n - 1; i >= 0; --i) {
    const int64_t s = d.size[i];
    off += (flat % s) * d.stride[i];
    flat /= s;
  }
  return off;
}

/// Shuffles any trivially copyable state through 32-bit words.
template <typename S>
__device__ __forceinline__ S shfl_xor(const S& v, int mask) {
  static_assert(sizeof(S) % 4 == 0, "reduction state must be a multiple of 4 bytes");
  S r;
  const int* src = reinterpret_cast<const int*>(&v);
  int* dst = reinterpret_cast<int*>(&r);
#pragma unroll
  for (int i = 0; i < int(sizeof(S) / 4); ++i) dst[i] = __shfl_xor_sync(0xffffffffu, src[i], mask);
  return r;
}

/// Every thread of the warp gets combine() of the warp's 32 states.
template <typename S, typename Combine>
__device__ __forceinline__ S warp_allreduce(S v, Combine combine) {
#pragma unroll
  for (int mask = kWarp / 2; mask > 0; mask /= 2) {
    // lower lane first, so an order-sensitive combine (first index) sees
    // the earlier partial on the left
    S other = shfl_xor(v, mask);
    v = (threadIdx.x & mask) ? combine(other, v) : combine(v, other);
  }
  return v;
}

/// Every thread of the block gets combine() of all the block's states. All
/// threads of the block must call it (it synchronises); `shared` holds
/// blockDim.x / 32 states.
template <typename S, typename Combine>
__device__ __forceinline__ S block_allreduce(S v, Combine combine, S* shared) {
  v = warp_allreduce(v, combine);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  S r = shared[0];
  const int warps = blockDim.x / kWarp;
  for (int w = 1; w < warps; ++w) r = combine(r, shared[w]);
  __syncthreads();  // shared is reused by the next call
  return r;
}

/// Group-wide allreduce: nothing when G == 1 (a thread per output), one
/// warp when G == 32, else the whole block.
template <int G, typename S, typename Combine>
__device__ __forceinline__ S group_allreduce(S v, Combine combine, S* shared) {
  if constexpr (G == 1) {
    return v;
  } else if constexpr (G == kWarp) {
    return warp_allreduce(v, combine);
  } else {
    return block_allreduce(v, combine, shared);
  }
}

/// Shared memory for one block_allreduce of states up to 16 bytes.
constexpr int kSharedBytes = kReduceThreads / kWarp * 16;

/// Makes `device` current for the scope (kernels launch on the current
/// device), restoring the previous one after.
class OnDevice {
 public:
  explicit OnDevice(int device) {
    NOVA_CUDA_CHECK("cuda device", cudaGetDevice(&previous_));
    if (previous_ != device) NOVA_CUDA_CHECK("cuda device", cudaSetDevice(device));
  }
  ~OnDevice() {
    int now = previous_;
    if (cudaGetDevice(&now) == cudaSuccess && now != previous_) cudaSetDevice(previous_);
  }
  OnDevice(const OnDevice&) = delete;
  OnDevice& operator=(const OnDevice&) = delete;

 private:
  int previous_ = 0;
};

}  // namespace nova::cuda::detail
