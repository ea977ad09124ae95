// kernels/cuda/softmax.cu: softmax / log_softmax along one dim (see
// softmax.h), mirroring kernels/cpu/softmax.cpp.
// A "row" is the n elements that differ only in index `dim`; there are
// outer x inner rows. One group of threads per row (a warp when n <= 1024,
// else the 256-thread block; grid-stride over rows): pass 1 finds the row max
// (in T, a NaN never replaces it, as std::max on the CPU), pass 2 sums
// exp(x - max) computed in T and accumulated in double for float32 (the
// CPU's acc_t), pass 3 writes exp(x - max) * (1 / sum) or x - (max + log sum).
// Both passes reduce with reduce_block.cuh's group allreduce, so every thread
// has the max and the sum; each pass reads x again (no temporaries).
#include "kernels/softmax.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/reduce_block.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

namespace {

using detail::Dims;
using detail::kReduceThreads;
using detail::kWarp;

constexpr int64_t kMaxBlocks = int64_t(1) << 20;

struct Add {
  __device__ double operator()(double a, double b) const { return a + b; }
};

template <typename T>
struct MaxOf {  // std::max(m, v) as on the CPU: m stays when v is NaN
  __device__ T operator()(T m, T v) const { return m < v ? v : m; }
};

/// rows: x's dims without `dim` (sizes and x strides), so that offset_of(rows, r)
/// is where row r starts in x; out's row r starts at (r / inner) * n * inner + r % inner.
template <int G, typename T, bool kLog>
__global__ void softmax_kernel(const T* x, T* y, Dims rows, int64_t n_rows, int64_t n, int64_t step,
                               int64_t inner) {
  __shared__ __align__(16) unsigned char shared[detail::kSharedBytes];
  const int per_block = blockDim.x / G;
  const int lane = threadIdx.x % G;
  const int64_t grid_step = int64_t(gridDim.x) * per_block;
  for (int64_t r = int64_t(blockIdx.x) * per_block + threadIdx.x / G; r < n_rows; r += grid_step) {
    const T* xr = x + detail::offset_of(rows, r);
    T* yr = y + (r / inner) * n * inner + r % inner;
    T m = -INFINITY;
    for (int64_t j = lane; j < n; j += G) m = MaxOf<T>()(m, xr[j * step]);
    m = detail::group_allreduce<G>(m, MaxOf<T>(), static_cast<T*>(static_cast<void*>(shared)));
    double total = 0;
    for (int64_t j = lane; j < n; j += G) total += double(T(exp(xr[j * step] - m)));
    total = detail::group_allreduce<G>(total, Add(), static_cast<double*>(static_cast<void*>(shared)));
    if constexpr (kLog) {
      const T shift = m + static_cast<T>(log(total));
      for (int64_t j = lane; j < n; j += G) yr[j * inner] = xr[j * step] - shift;
    } else {
      const T scale = static_cast<T>(1.0 / total);
      for (int64_t j = lane; j < n; j += G) yr[j * inner] = T(exp(xr[j * step] - m)) * scale;
    }
  }
}

template <typename T, bool kLog>
void softmax_rows(const char* op, const View& x, int dim, const View& out) {
  if (x.numel() == 0) return;
  const int64_t n = x.size(dim);
  const int64_t step = x.strides()[dim];
  int64_t inner = 1;  // also out's stride along dim, as out is contiguous
  for (int d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  Dims rows;
  for (int d = 0; d < x.dim(); ++d) {
    if (d == dim) continue;
    rows.size[rows.n] = x.size(d);
    rows.stride[rows.n] = x.strides()[d];
    ++rows.n;
  }
  const int64_t n_rows = x.numel() / n;
  detail::OnDevice on(x.device().index);
  cudaStream_t s = static_cast<cudaStream_t>(nova::cuda::stream(x.device().index));
  const T* px = x.data<T>();
  T* py = out.data<T>();
  if (n <= 1024) {
    constexpr int per_block = kReduceThreads / kWarp;
    const int64_t blocks = std::min((n_rows + per_block - 1) / per_block, kMaxBlocks);
    softmax_kernel<kWarp, T, kLog><<<unsigned(blocks), kReduceThreads, 0, s>>>(px, py, rows, n_rows, n, step, inner);
  } else {
    const int64_t blocks = std::min(n_rows, kMaxBlocks);
    softmax_kernel<kReduceThreads, T, kLog>
        <<<unsigned(blocks), kReduceThreads, 0, s>>>(px, py, rows, n_rows, n, step, inner);
  }
  NOVA_CUDA_LAUNCH_CHECK(op);
}

}  // namespace

void softmax_forward(const View& x, int dim, const View& out) {
  dispatch_floating("softmax", x.dtype(), [&](auto tag) {
    softmax_rows<decltype(tag), false>("softmax", x, dim, out);
  });
}

void log_softmax_forward(const View& x, int dim, const View& out) {
  dispatch_floating("log_softmax", x.dtype(), [&](auto tag) {
    softmax_rows<decltype(tag), true>("log_softmax", x, dim, out);
  });
}

}  // namespace nova::cuda
