// kernels/cuda/reduce.cu: CUDA reductions (see kernels/reduce.h), mirroring
// kernels/cpu/reduce.cpp.
//
// Layout: the input's dims split into the kept ("outer") dims, which index
// the output element o, and the reduced ("inner") dims, whose N elements fold
// into o; adjacent reduced dims that are dense together are merged, so a
// contiguous block is one dim with one stride (the fast path: no div/mod).
// One group of threads folds one output: a warp when N <= 1024 (8 outputs
// per 256-thread block), else the whole block; but when the last kept dim is
// dense and there are >= 4096 outputs (a sum over the batch dim of [B, C]),
// one thread per output, so that a warp's loads are adjacent. Thread `lane` of a group folds
// elements lane, lane + G, ... in order, then the group combines the partial
// states with warp shuffles and shared memory (reduce_block.cuh).
// Sums accumulate in double for float32 and float64 and in int64 for
// integers, as on the CPU; var and logsumexp take two passes like the CPU.
// sum/mean with at most 64 outputs of >= 65536 elements each split every
// block over chunks of 8192 elements, one CUDA block each, then add the
// partials per output in a fixed order (still deterministic).
// max/min keep (value, flat index) pairs: the combine prefers a NaN, then the
// better value, then the smaller index, which is the CPU's "first NaN, else
// first extreme" result whatever order the partials meet in.
#include "kernels/reduce.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/reduce_block.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

namespace {

using detail::Dims;
using detail::kReduceThreads;
using detail::kWarp;

constexpr int64_t kMaxBlocks = int64_t(1) << 20;
/// Outputs needed before a dense last kept dim gets a thread per output.
constexpr int64_t kColumnMinOutputs = 4096;

struct Geometry {
  Dims outer;  // kept dims: out's sizes, x's strides
  Dims inner;  // reduced dims (merged where dense), x's sizes and strides
  int64_t n_out = 0;
  int64_t n_red = 1;
};

Geometry geometry(const View& x, const Shape& out_shape) {
  Geometry g;
  for (int d = 0; d < x.dim(); ++d) {
    const int64_t size = x.size(d), st = x.strides()[d];
    if (out_shape[d] != 1) {
      g.outer.size[g.outer.n] = size;
      g.outer.stride[g.outer.n] = st;
      ++g.outer.n;
    } else if (size != 1) {
      Dims& in = g.inner;
      if (in.n > 0 && in.stride[in.n - 1] == size * st) {
        in.size[in.n - 1] *= size;  // dense with the previous reduced dim
        in.stride[in.n - 1] = st;
      } else {
        in.size[in.n] = size;
        in.stride[in.n] = st;
        ++in.n;
      }
    }
  }
  g.n_out = out_shape.numel();
  for (int i = 0; i < g.inner.n; ++i) g.n_red *= g.inner.size[i];
  return g;
}

/// Folds the group's share of the block at p (elements lane, lane + G, ...)
/// with fold(state, value, k) and returns the group-wide combination.
template <int G, typename T, typename S, typename Fold, typename Combine>
__device__ S group_reduce(const T* p, const Dims& inner, int64_t n, int lane, S init, Fold fold,
                          Combine combine, void* shared) {
  S s = init;
  if (inner.n <= 1) {
    const int64_t step = inner.n ? inner.stride[0] : 0;
    for (int64_t k = lane; k < n; k += G) s = fold(s, p[k * step], k);
  } else {
    for (int64_t k = lane; k < n; k += G) s = fold(s, p[detail::offset_of(inner, k)], k);
  }
  return detail::group_allreduce<G>(s, combine, static_cast<S*>(shared));
}

/// One group per output element o; grid-stride over outputs. op.run writes out[o].
template <int G, typename Op>
__global__ void reduce_kernel(Op op, Dims outer, Dims inner, int64_t n_out, int64_t n_red) {
  __shared__ __align__(16) unsigned char shared[detail::kSharedBytes];
  const int per_block = blockDim.x / G;
  const int lane = threadIdx.x % G;
  const int64_t step = int64_t(gridDim.x) * per_block;
  for (int64_t o = int64_t(blockIdx.x) * per_block + threadIdx.x / G; o < n_out; o += step) {
    op.template run<G>(o, detail::offset_of(outer, o), inner, n_red, lane, shared);
  }
}

template <typename Op>
void launch(const char* name, const View& x, const Shape& out_shape, const Op& op) {
  const Geometry g = geometry(x, out_shape);
  if (g.n_out == 0) return;
  detail::OnDevice on(x.device().index);
  cudaStream_t s = static_cast<cudaStream_t>(nova::cuda::stream(x.device().index));
  const bool columns = g.outer.n > 0 && g.outer.stride[g.outer.n - 1] == 1 && g.n_out >= kColumnMinOutputs;
  if (columns) {
    // the last kept dim is dense: a thread per output, so a warp reads 32
    // adjacent elements at each step (coalesced), in the CPU's order
    const int64_t blocks = std::min((g.n_out + kReduceThreads - 1) / kReduceThreads, kMaxBlocks);
    reduce_kernel<1><<<unsigned(blocks), kReduceThreads, 0, s>>>(op, g.outer, g.inner, g.n_out, g.n_red);
  } else if (g.n_red <= 1024) {
    constexpr int per_block = kReduceThreads / kWarp;
    const int64_t blocks = std::min((g.n_out + per_block - 1) / per_block, kMaxBlocks);
    reduce_kernel<kWarp><<<unsigned(blocks), kReduceThreads, 0, s>>>(op, g.outer, g.inner, g.n_out, g.n_red);
  } else {
    const int64_t blocks = std::min(g.n_out, kMaxBlocks);
    reduce_kernel<kReduceThreads><<<unsigned(blocks), kReduceThreads, 0, s>>>(op, g.outer, g.inner, g.n_out,
                                                                              g.n_red);
  }
  NOVA_CUDA_LAUNCH_CHECK(name);
}

template <typename T>
using acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

struct Add {
  template <typename A>
  __device__ A operator()(A a, A b) const { return a + b; }
};

// ---- sum / mean ----
template <typename T>
struct SumOp {
  const T* x;
  T* out;
  bool take_mean;
  template <int G>
  __device__ void run(int64_t o, int64_t base, const Dims& inner, int64_t n, int lane, void* sh) const {
    using A = acc_t<T>;
    const A acc = group_reduce<G>(x + base, inner, n, lane, A(0),
                                  [](A s, T v, int64_t) { return s + A(v); }, Add(), sh);
    if (lane != 0) return;
    if constexpr (std::is_floating_point_v<T>) {
      if (take_mean) {
        out[o] = n ? T(double(acc) / double(n)) : T(NAN);
        return;
      }
    }
    out[o] = T(acc);
  }
};

// ---- var: mean, then the sum of squared deviations ----
template <typename T>
struct VarOp {
  const T* x;
  T* out;
  int64_t correction;
  template <int G>
  __device__ void run(int64_t o, int64_t base, const Dims& inner, int64_t n, int lane, void* sh) const {
    const T* p = x + base;
    const double s = group_reduce<G>(p, inner, n, lane, 0.0,
                                     [](double a, T v, int64_t) { return a + double(v); }, Add(), sh);
    const double m = n ? s / double(n) : 0.0;
    const double ss = group_reduce<G>(p, inner, n, lane, 0.0, [m](double a, T v, int64_t) {
      const double d = double(v) - m;
      return a + d * d;
    }, Add(), sh);
    // N <= correction gives 0/0 = NaN (or inf), as on the CPU
    const int64_t dof = n - correction > 0 ? n - correction : 0;
    if (lane == 0) out[o] = T(ss / double(dof));
  }
};

// ---- max / min with the first index ----
template <typename T>
struct Best {
  T v;
  int64_t i;  // -1: nothing seen yet
};

template <typename T>
__device__ __forceinline__ bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return isnan(v);
  } else {
    return false;
  }
}

template <bool kTakeMax, typename T>
__device__ __forceinline__ bool better(T a, T b) {
  if constexpr (kTakeMax) {
    return a > b;
  } else {
    return a < b;
  }
}

template <typename T, bool kTakeMax>
struct BestCombine {
  __device__ Best<T> operator()(Best<T> a, Best<T> b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    const bool an = is_nan(a.v), bn = is_nan(b.v);
    if (an || bn) {
      if (an && bn) return a.i < b.i ? a : b;
      return an ? a : b;
    }
    if (better<kTakeMax>(a.v, b.v)) return a;
    if (better<kTakeMax>(b.v, a.v)) return b;
    return a.i < b.i ? a : b;
  }
};

template <typename T, bool kTakeMax>
struct MaxMinOp {
  const T* x;
  T* values;        // may be null
  int64_t* indices; // may be null
  template <int G>
  __device__ void run(int64_t o, int64_t base, const Dims& inner, int64_t n, int lane, void* sh) const {
    // a thread sees its elements in increasing k: replace on strictly better
    // or on the first NaN, as the CPU loop does
    const Best<T> b = group_reduce<G>(x + base, inner, n, lane, Best<T>{T{}, -1},
                                      [](Best<T> s, T v, int64_t k) {
                                        if (s.i < 0) return Best<T>{v, k};
                                        if (is_nan(s.v)) return s;
                                        if (is_nan(v) || better<kTakeMax>(v, s.v)) return Best<T>{v, k};
                                        return s;
                                      },
                                      BestCombine<T, kTakeMax>(), sh);
    if (lane != 0) return;
    if (values) values[o] = b.v;
    if (indices) indices[o] = b.i;
  }
};

// ---- norm ----
struct NanMax {  // once NaN, it stays
  __device__ double operator()(double a, double b) const {
    if (isnan(a)) return a;
    if (isnan(b)) return b;
    return b > a ? b : a;
  }
};

template <typename T>
struct NormOp {
  const T* x;
  T* out;
  double p;
  template <int G>
  __device__ void run(int64_t o, int64_t base, const Dims& inner, int64_t n, int lane, void* sh) const {
    const T* b = x + base;
    double acc;
    if (p == 1) {
      acc = group_reduce<G>(b, inner, n, lane, 0.0,
                            [](double a, T v, int64_t) { return a + fabs(double(v)); }, Add(), sh);
    } else if (p == 2) {
      acc = group_reduce<G>(b, inner, n, lane, 0.0,
                            [](double a, T v, int64_t) { return a + double(v) * double(v); }, Add(),
                            sh);
      acc = sqrt(acc);
    } else if (isinf(p)) {
      acc = group_reduce<G>(b, inner, n, lane, 0.0,
                            [](double a, T v, int64_t) { return NanMax()(a, fabs(double(v))); },
                            NanMax(), sh);
    } else {
      const double q = p;
      acc = group_reduce<G>(b, inner, n, lane, 0.0,
                            [q](double a, T v, int64_t) { return a + pow(fabs(double(v)), q); },
                            Add(), sh);
      acc = pow(acc, 1.0 / p);
    }
    if (lane == 0) out[o] = T(acc);
  }
};

// ---- logsumexp ----
struct MaxIgnoringNan {  // the CPU's `if (v > m) m = v`: a NaN never replaces m
  __device__ double operator()(double a, double b) const { return b > a ? b : a; }
};

template <typename T>
struct LogSumExpOp {
  const T* x;
  T* out;
  template <int G>
  __device__ void run(int64_t o, int64_t base, const Dims& inner, int64_t n, int lane, void* sh) const {
    const T* b = x + base;
    const double m = group_reduce<G>(b, inner, n, lane, -INFINITY,
                                     [](double a, T v, int64_t) { return MaxIgnoringNan()(a, double(v)); },
                                     MaxIgnoringNan(), sh);
    // m = -inf (empty block or all -inf) or +inf: the answer is m itself.
    // m is the same in every thread of the group, so all take this branch.
    if (isinf(m)) {
      if (lane == 0) out[o] = T(m);
      return;
    }
    const double s = group_reduce<G>(b, inner, n, lane, 0.0,
                                     [m](double a, T v, int64_t) { return a + exp(double(v) - m); },
                                     Add(), sh);
    if (lane == 0) out[o] = T(m + log(s));
  }
};

// ---- sum / mean of a few long blocks: split each block over many blocks ----
// One block per output would leave most of the GPU idle for sum(x) over a
// large tensor (one output). When there are few outputs and long blocks,
// block (c, o) folds chunk c of output o's block into partial[o * chunks + c],
// and a second kernel adds each output's partials (one block per output, in
// a fixed order).
constexpr int64_t kSplitMinBlock = int64_t(1) << 16;  // elements per output
constexpr int64_t kSplitMaxOutputs = 64;
constexpr int64_t kSplitChunk = int64_t(kReduceThreads) * 32;  // elements per block

template <typename T, typename A>
__global__ void sum_partial_kernel(const T* x, Dims outer, Dims inner, int64_t n, int64_t chunks, A* partial) {
  __shared__ __align__(16) unsigned char shared[detail::kSharedBytes];
  const int64_t o = blockIdx.y, c = blockIdx.x;
  const int64_t begin = c * kSplitChunk, end = begin + kSplitChunk < n ? begin + kSplitChunk : n;
  const T* p = x + detail::offset_of(outer, o);
  A acc = 0;
  if (inner.n <= 1 && end - begin == kSplitChunk) {
    // a whole chunk of one dense-or-strided dim: all 32 loads of a thread
    // are issued before the adds (full unroll), into 4 partial sums added
    // in a fixed order; one load in flight per thread reached 0.15 of copy
    // bandwidth on an H100
    const int64_t step = inner.n ? inner.stride[0] : 0;
    const T* q = p + (begin + threadIdx.x) * step;
    A part[4] = {0, 0, 0, 0};
#pragma unroll
    for (int i = 0; i < kSplitChunk / kReduceThreads; ++i) part[i % 4] += A(q[int64_t(i) * kReduceThreads * step]);
    acc = (part[0] + part[1]) + (part[2] + part[3]);
  } else if (inner.n <= 1) {
    const int64_t step = inner.n ? inner.stride[0] : 0;
    for (int64_t k = begin + threadIdx.x; k < end; k += blockDim.x) acc += A(p[k * step]);
  } else {
    for (int64_t k = begin + threadIdx.x; k < end; k += blockDim.x) acc += A(p[detail::offset_of(inner, k)]);
  }
  acc = detail::block_allreduce(acc, Add(), static_cast<A*>(static_cast<void*>(shared)));
  if (threadIdx.x == 0) partial[o * chunks + c] = acc;
}

/// One block per output: thread t adds partials t, t + 256, ... in order,
/// then the block combines the 256 sums in its fixed tree order.
template <typename T, typename A>
__global__ void sum_finish_kernel(const A* partial, int64_t chunks, int64_t n, bool take_mean, T* out) {
  __shared__ __align__(16) unsigned char shared[detail::kSharedBytes];
  const int64_t o = blockIdx.x;
  A acc = 0;
  for (int64_t c = threadIdx.x; c < chunks; c += blockDim.x) acc += partial[o * chunks + c];
  acc = detail::block_allreduce(acc, Add(), static_cast<A*>(static_cast<void*>(shared)));
  if (threadIdx.x != 0) return;
  if constexpr (std::is_floating_point_v<T>) {
    if (take_mean) {
      out[o] = T(double(acc) / double(n));  // n > 0 on this path
      return;
    }
  }
  out[o] = T(acc);
}

template <typename T>
void sum_or_mean(const char* name, const View& x, const View& out, bool take_mean) {
  const Geometry g = geometry(x, out.shape());
  if (g.n_out == 0 || g.n_out > kSplitMaxOutputs || g.n_red < kSplitMinBlock) {
    launch(name, x, out.shape(), SumOp<T>{x.data<T>(), out.data<T>(), take_mean});
    return;
  }
  using A = acc_t<T>;
  const int64_t chunks = (g.n_red + kSplitChunk - 1) / kSplitChunk;
  detail::OnDevice on(x.device().index);
  cudaStream_t s = static_cast<cudaStream_t>(nova::cuda::stream(x.device().index));
  const size_t bytes = size_t(g.n_out * chunks) * sizeof(A);
  A* partial = static_cast<A*>(nova::cuda::allocate(bytes, x.device().index));
  try {
    const dim3 grid(unsigned(chunks), unsigned(g.n_out));
    sum_partial_kernel<T, A><<<grid, kReduceThreads, 0, s>>>(x.data<T>(), g.outer, g.inner, g.n_red, chunks, partial);
    NOVA_CUDA_LAUNCH_CHECK(name);
    sum_finish_kernel<T, A><<<unsigned(g.n_out), kReduceThreads, 0, s>>>(partial, chunks, g.n_red, take_mean,
                                                                         out.data<T>());
    NOVA_CUDA_LAUNCH_CHECK(name);
  } catch (...) {
    nova::cuda::deallocate(partial, x.device().index);
    throw;
  }
  // stream-ordered: the caching allocator hands the block out again only to
  // work queued after these kernels on the same stream
  nova::cuda::deallocate(partial, x.device().index);
}

}  // namespace

void sum(const View& x, const View& out) {
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail("sum: not defined for bool; convert with to(kInt64) first");
    } else {
      sum_or_mean<T>("sum", x, out, false);
    }
  });
}

void mean(const View& x, const View& out) {
  dispatch_floating("mean", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    sum_or_mean<T>("mean", x, out, true);
  });
}

void var(const View& x, const View& out, int64_t correction) {
  dispatch_floating("var", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch("var", x, out.shape(), VarOp<T>{x.data<T>(), out.data<T>(), correction});
  });
}

void max_min(const View& x, const View& values, const View& indices, bool take_max) {
  const Shape& out_shape = values.defined() ? values.shape() : indices.shape();
  const char* name = take_max ? "max" : "min";
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* pv = values.defined() ? values.data<T>() : nullptr;
    int64_t* pi = indices.defined() ? indices.data<int64_t>() : nullptr;
    if (take_max) {
      launch(name, x, out_shape, MaxMinOp<T, true>{x.data<T>(), pv, pi});
    } else {
      launch(name, x, out_shape, MaxMinOp<T, false>{x.data<T>(), pv, pi});
    }
  });
}

void norm(const View& x, const View& out, double p) {
  dispatch_floating("norm", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch("norm", x, out.shape(), NormOp<T>{x.data<T>(), out.data<T>(), p});
  });
}

void logsumexp(const View& x, const View& out) {
  dispatch_floating("logsumexp", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    launch("logsumexp", x, out.shape(), LogSumExpOp<T>{x.data<T>(), out.data<T>()});
  });
}

}  // namespace nova::cuda
