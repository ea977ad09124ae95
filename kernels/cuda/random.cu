// kernels/cuda/random.cu: Philox fills on the GPU, a port of
// kernels/cpu/random.cpp. One thread per element (per pair for normal)
// computes the Philox block that feeds it (core/random.h's convention):
//   uniform float32  block offset + i/4, lane i%4
//   uniform float64  block offset + i/2, lanes 2(i%2), 2(i%2)+1
//   normal           pair p: float32 block offset + p/2, lanes 2(p%2), +1;
//                    float64 block offset + p, lanes 0..3; Box-Muller in
//                    double for both dtypes, element 2p cosine, 2p+1 sine
//   randint          block offset + i/2, two lanes -> 64 bits mod range
// Uniform and randint are bit-identical to the CPU. Normal differs only by
// the device's double log/sqrt/sin/cos (within 2 ulp of the host's), i.e.
// ~1e-15 relative before the cast to the output dtype.
// Recomputing a block per element (4x for float32) costs nothing measurable:
// 10 Philox rounds are ~40 integer ops against one 4-byte store.
#include "kernels/random.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <type_traits>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/philox.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;

/// Uniform in [0, 1) for element i of a draw starting at block `offset`.
template <typename T>
__device__ __forceinline__ T unit_uniform(uint64_t seed, uint64_t offset, int64_t i) {
  if constexpr (std::is_same_v<T, double>) {
    const PhiloxWords w = philox_block(seed, offset + uint64_t(i) / 2);
    const int lane = 2 * int(i % 2);
    return bits_to_unit_double(w.w[lane], w.w[lane + 1]);
  } else {
    const PhiloxWords w = philox_block(seed, offset + uint64_t(i) / 4);
    return bits_to_unit_float(w.w[i % 4]);
  }
}

/// Products rounded on their own: nvcc would otherwise fuse `lo + span * u`
/// into an FMA and differ from the host in the last bit.
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }

template <typename T>
__global__ void uniform_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, T lo, T span) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[i] = lo + mul_rn(span, unit_uniform<T>(seed, offset, i));
}

template <typename T>
__global__ void normal_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
  const int64_t pairs = (n + 1) / 2;
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t pair = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; pair < pairs; pair += step) {
    double u1, u2;  // Box-Muller in double for both dtypes, as the CPU
    if constexpr (std::is_same_v<T, double>) {
      const PhiloxWords w = philox_block(seed, offset + uint64_t(pair));
      u1 = bits_to_unit_double(w.w[0], w.w[1]);
      u2 = bits_to_unit_double(w.w[2], w.w[3]);
    } else {
      const PhiloxWords w = philox_block(seed, offset + uint64_t(pair) / 2);
      const int lane = 2 * int(pair % 2);
      u1 = bits_to_unit_float(w.w[lane]);
      u2 = bits_to_unit_float(w.w[lane + 1]);
    }
    // __dmul_rn/__dadd_rn: no FMA contraction, so the products round as on the host
    const double r = sqrt(__dmul_rn(-2.0, log(__dadd_rn(1.0, -u1))));  // 1 - u1 in (0, 1]
    const double theta = __dmul_rn(kTwoPi, u2);
    out[2 * pair] = T(__dadd_rn(mean, __dmul_rn(__dmul_rn(std, r), cos(theta))));
    if (2 * pair + 1 < n) out[2 * pair + 1] = T(__dadd_rn(mean, __dmul_rn(__dmul_rn(std, r), sin(theta))));
  }
}

template <typename T>
__global__ void randint_kernel(T* out, int64_t n, uint64_t seed, uint64_t offset, int64_t low, uint64_t range) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const PhiloxWords w = philox_block(seed, offset + uint64_t(i) / 2);
    const int lane = 2 * int(i % 2);
    const uint64_t bits = (uint64_t(w.w[lane]) << 32) | w.w[lane + 1];
    out[i] = T(low + int64_t(bits % range));
  }
}

}  // namespace

void fill_uniform(const View& out, uint64_t seed, uint64_t offset, double low, double high) {
  DeviceGuard guard(out.device().index);  // launch on the tensor's device
  dispatch_floating("rand", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = out.numel();
    if (n == 0) return;
    uniform_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(out.data<T>(), n, seed, offset, T(low),
                                                                       T(high - low));
    NOVA_CUDA_LAUNCH_CHECK("rand");
  });
}

void fill_normal(const View& out, uint64_t seed, uint64_t offset, double mean, double std) {
  DeviceGuard guard(out.device().index);
  dispatch_floating("randn", out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = out.numel();
    if (n == 0) return;
    normal_kernel<T><<<blocks_for((n + 1) / 2), kThreads, 0, stream_of(out)>>>(out.data<T>(), n, seed, offset,
                                                                               mean, std);
    NOVA_CUDA_LAUNCH_CHECK("randn");
  });
}

void fill_randint(const View& out, uint64_t seed, uint64_t offset, int64_t low, int64_t high) {
  DeviceGuard guard(out.device().index);
  const uint64_t range = uint64_t(high - low);
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail("randint: not defined for bool");
    } else {
      const int64_t n = out.numel();
      if (n == 0) return;
      randint_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(out.data<T>(), n, seed, offset, low,
                                                                         range);
      NOVA_CUDA_LAUNCH_CHECK("randint");
    }
  });
}

}  // namespace nova::cuda
