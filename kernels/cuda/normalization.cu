// kernels/cuda/normalization.cu: layer_norm and batch_norm forward (see
// normalization.h), mirroring kernels/cpu/normalization.cpp formula for
// formula.
//   layer_norm        one group of threads per row (a warp when cols <= 1024,
//                     else the 256-thread block; grid-stride over rows): sum
//                     in double, allreduce, mean; squared deviations in double,
//                     allreduce, rstd; then each thread writes its columns.
//   batch_norm_stats  one block per channel (grid-stride over channels), the
//                     same two passes over the channel's N * L values.
//   batch_norm_apply  elementwise, grid-stride: y = x * scale + shift with the
//                     per-channel scale and shift computed in double as on the CPU.
// Partial sums are combined in a fixed order (reduce_block.cuh), so results
// are deterministic, though the summation order differs from the CPU's loop.
#include "kernels/normalization.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce_block.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

namespace {

using detail::kReduceThreads;
using detail::kWarp;

constexpr int64_t kMaxBlocks = int64_t(1) << 20;

struct Add {
  __device__ double operator()(double a, double b) const { return a + b; }
};

template <int G, typename T>
__global__ void layer_norm_kernel(const T* x, const T* w, const T* b, double eps, T* y, T* mean,
                                  T* rstd, int64_t rows, int64_t cols) {
  __shared__ __align__(16) unsigned char shared[detail::kSharedBytes];
  double* sh = static_cast<double*>(static_cast<void*>(shared));
  const int per_block = blockDim.x / G;
  const int lane = threadIdx.x % G;
  const int64_t grid_step = int64_t(gridDim.x) * per_block;
  for (int64_t r = int64_t(blockIdx.x) * per_block + threadIdx.x / G; r < rows; r += grid_step) {
    const T* xr = x + r * cols;
    T* yr = y + r * cols;
    double s = 0;
    for (int64_t j = lane; j < cols; j += G) s += double(xr[j]);
    s = detail::group_allreduce<G>(s, Add(), sh);
    const double mu = s / double(cols);
    double ss = 0;
    for (int64_t j = lane; j < cols; j += G) {
      const double d = double(xr[j]) - mu;
      ss += d * d;
    }
    ss = detail::group_allreduce<G>(ss, Add(), sh);
    const double inv = 1.0 / sqrt(ss / double(cols) + eps);
    if (lane == 0) {
      mean[r] = T(mu);
      rstd[r] = T(inv);
    }
    for (int64_t j = lane; j < cols; j += G) {
      double v = (double(xr[j]) - mu) * inv;
      if (w) v *= double(w[j]);
      if (b) v += double(b[j]);
      yr[j] = T(v);
    }
  }
}

template <typename T>
void layer_norm_typed(const View& x, const View& weight, const View& bias, double eps,
                      const View& y, const View& mean, const View& rstd) {
  const int64_t rows = x.size(0), cols = x.size(1);
  if (rows == 0) return;  // cols == 0 still writes mean and rstd (NaN), as the CPU
  detail::OnDevice on(x.device().index);
  cudaStream_t s = stream_of(x);
  const T* px = x.data<T>();
  const T* pw = weight.data_or_null<T>();
  const T* pb = bias.data_or_null<T>();
  T* py = y.data<T>();
  T* pm = mean.data<T>();
  T* pr = rstd.data<T>();
  if (cols <= 1024) {
    constexpr int per_block = kReduceThreads / kWarp;
    const int64_t blocks = std::min((rows + per_block - 1) / per_block, kMaxBlocks);
    layer_norm_kernel<kWarp, T>
        <<<unsigned(blocks), kReduceThreads, 0, s>>>(px, pw, pb, eps, py, pm, pr, rows, cols);
  } else {
    const int64_t blocks = std::min(rows, kMaxBlocks);
    layer_norm_kernel<kReduceThreads, T>
        <<<unsigned(blocks), kReduceThreads, 0, s>>>(px, pw, pb, eps, py, pm, pr, rows, cols);
  }
  NOVA_CUDA_LAUNCH_CHECK("layer_norm");
}

/// One block per channel c: element k of the channel (k < N * L) is
/// x[n = k / L, c, l = k % L].
template <typename T>
__global__ void batch_norm_stats_kernel(const T* x, T* mean, T* var, int64_t N, int64_t C,
                                        int64_t L) {
  __shared__ __align__(16) unsigned char shared[detail::kSharedBytes];
  double* sh = static_cast<double*>(static_cast<void*>(shared));
  const int64_t per_channel = N * L;
  const double count = double(per_channel);
  for (int64_t c = blockIdx.x; c < C; c += gridDim.x) {
    double s = 0;
    for (int64_t k = threadIdx.x; k < per_channel; k += blockDim.x) {
      const int64_t n = k / L, l = k - n * L;
      s += double(x[(n * C + c) * L + l]);
    }
    s = detail::block_allreduce(s, Add(), sh);
    const double mu = s / count;
    double ss = 0;
    for (int64_t k = threadIdx.x; k < per_channel; k += blockDim.x) {
      const int64_t n = k / L, l = k - n * L;
      const double d = double(x[(n * C + c) * L + l]) - mu;
      ss += d * d;
    }
    ss = detail::block_allreduce(ss, Add(), sh);
    if (threadIdx.x == 0) {
      mean[c] = T(mu);
      var[c] = T(ss / count);
    }
  }
}

template <typename T>
void batch_norm_stats_typed(const View& x, const View& mean, const View& var) {
  const int64_t N = x.size(0), C = x.size(1), L = x.size(2);
  if (C == 0) return;
  detail::OnDevice on(x.device().index);
  const int64_t blocks = std::min(C, kMaxBlocks);
  batch_norm_stats_kernel<T><<<unsigned(blocks), kReduceThreads, 0, stream_of(x)>>>(
      x.data<T>(), mean.data<T>(), var.data<T>(), N, C, L);
  NOVA_CUDA_LAUNCH_CHECK("batch_norm");
}

template <typename T>
__global__ void batch_norm_apply_kernel(const T* x, const T* mean, const T* rstd, const T* w,
                                        const T* b, T* y, int64_t numel, int64_t C, int64_t L) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += step) {
    const int64_t c = (i / L) % C;
    const double scale = double(rstd[c]) * (w ? double(w[c]) : 1.0);
    const double shift = (b ? double(b[c]) : 0.0) - double(mean[c]) * scale;
    y[i] = T(double(x[i]) * scale + shift);
  }
}

template <typename T>
void batch_norm_apply_typed(const View& x, const View& mean, const View& rstd,
                            const View& weight, const View& bias, const View& y) {
  const int64_t C = x.size(1), L = x.size(2);
  const int64_t numel = x.numel();
  if (numel == 0) return;
  detail::OnDevice on(x.device().index);
  const int64_t blocks = std::min((numel + kThreads - 1) / kThreads, int64_t(1) << 16);
  batch_norm_apply_kernel<T><<<unsigned(blocks), kThreads, 0, stream_of(x)>>>(
      x.data<T>(), mean.data<T>(), rstd.data<T>(), weight.data_or_null<T>(), bias.data_or_null<T>(),
      y.data<T>(), numel, C, L);
  NOVA_CUDA_LAUNCH_CHECK("batch_norm");
}

}  // namespace

void layer_norm_forward(const View& x, const View& weight, const View& bias, double eps,
                        const View& y, const View& mean, const View& rstd) {
  dispatch_floating("layer_norm", x.dtype(), [&](auto tag) {
    layer_norm_typed<decltype(tag)>(x, weight, bias, eps, y, mean, rstd);
  });
}

void batch_norm_stats(const View& x, const View& mean, const View& var) {
  dispatch_floating("batch_norm", x.dtype(), [&](auto tag) {
    batch_norm_stats_typed<decltype(tag)>(x, mean, var);
  });
}

void batch_norm_apply(const View& x, const View& mean, const View& rstd, const View& weight,
                      const View& bias, const View& y) {
  dispatch_floating("batch_norm", x.dtype(), [&](auto tag) {
    batch_norm_apply_typed<decltype(tag)>(x, mean, rstd, weight, bias, y);
  });
}

}  // namespace nova::cuda
