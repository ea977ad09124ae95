// kernels/cuda/index.cu: the kernels behind kernels/index.h, a port of
// kernels/cpu/index.cpp (same loops, same dtype coverage, same messages).
//
// Four element-parallel kernels do all the work, one thread per element of
// an iteration shape (grid-stride, 64-bit indices), offsets from an Indexer:
//   copy_kernel:    dst[o0] = src[o1]                         (cat, pad, flip,
//                                                              the base copy)
//   gather_kernel:  out[o0] = x[o1 + index[o2] * x_dim_stride]
//   scatter_kernel: out[o0 + index[o2] * out_dim_stride] += src[o1]  (atomic)
//   one_hot_kernel: out[o0 + index[o1]] = 1
// (plus fill_kernel for pad's border and the min/max scan of the indices).
// where x/out are read with stride 0 on dim (the position there comes from
// the index) and the index is read through strides over the iteration shape:
// its own for gather/scatter_add, a 1-D index "broadcast" over the other dims
// (stride 0 there) for index_select/index_add, exactly as on the CPU.
//
// Determinism: scatter_kernel accumulates with atomicAdd (native for float
// and double on sm_60+, int32 as int, int64 as unsigned long long, which
// wraps like two's complement). Where two positions hit one element, the
// order of the float additions depends on scheduling, so the last bits of
// scatter_add/index_add (and of the gradients of gather, index_select and
// embedding) may differ between runs and from the CPU's serial order; with k
// additions into one element the difference from the CPU stays within
// 2 (k - 1) u sum |terms| (u = 2^-24 or 2^-53). Integers and bool are exact:
// bool "adds" as or, done as a plain store of true (every writer stores the
// same value).
#include "kernels/index.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/indexer.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

namespace {

/// Calls f(I{}) with I the C++ type of an index dtype (int64 or int32).
template <typename F>
decltype(auto) dispatch_index(DType t, F&& f) {
  switch (t) {
    case DType::Int64: return f(int64_t{});
    case DType::Int32: return f(int32_t{});
    default: fail("index kernels: index dtype must be int64 or int32, got {}", dtype_name(t));
  }
}

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int d = 0; d < shape.size(); ++d) n *= shape[d];
  return n;
}

/// Strides with 0 at dim: the dim's position comes from the index instead.
Shape without_dim(Shape strides, int dim) {
  strides[dim] = 0;
  return strides;
}

// ---- kernels ----

template <typename T>
__global__ void copy_dense_kernel(const T* src, T* dst, int64_t n) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) dst[i] = src[i];
}

template <typename T>
__global__ void copy_kernel(const T* src, T* dst, int64_t n, Indexer<2> ix) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[2];
    ix.offsets(i, off);
    dst[off[0]] = src[off[1]];
  }
}

template <typename T>
__global__ void fill_kernel(T* dst, int64_t n, Indexer<1> ix, T value) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[1];
    ix.offsets(i, off);
    dst[off[0]] = value;
  }
}

template <typename T, typename I>
__global__ void gather_kernel(T* out, const T* x, int64_t x_dim_stride, const I* index, int64_t n,
                              Indexer<3> ix) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[3];
    ix.offsets(i, off);
    out[off[0]] = x[off[1] + static_cast<int64_t>(index[off[2]]) * x_dim_stride];
  }
}

/// *p += v atomically (see the file comment for the float order caveat).
template <typename T>
__device__ void atomic_accumulate(T* p, T v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (v) *p = true;  // or: every writer stores the same value
  } else if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else if constexpr (std::is_same_v<T, int32_t>) {
    atomicAdd(reinterpret_cast<int*>(p), static_cast<int>(v));
  } else {
    atomicAdd(p, v);  // float, double
  }
}

template <typename T, typename I>
__global__ void scatter_kernel(T* out, int64_t out_dim_stride, const T* src, const I* index, int64_t n,
                               Indexer<3> ix) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[3];  // out (stride 0 on dim), src, index
    ix.offsets(i, off);
    atomic_accumulate(out + off[0] + static_cast<int64_t>(index[off[2]]) * out_dim_stride, src[off[1]]);
  }
}

template <typename T, typename I>
__global__ void one_hot_kernel(T* out, const I* index, int64_t n, Indexer<2> ix) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[2];  // row start in out, index
    ix.offsets(i, off);
    out[off[0] + static_cast<int64_t>(index[off[1]])] = T(1);
  }
}

__global__ void min_max_init_kernel(long long* lohi) {
  lohi[0] = LLONG_MAX;
  lohi[1] = LLONG_MIN;
}

/// Each thread scans its grid-stride share, each warp combines with shuffles,
/// lane 0 of each warp folds into lohi with atomicMin/atomicMax.
template <typename I>
__global__ void min_max_kernel(const I* index, int64_t n, Indexer<1> ix, long long* lohi) {
  long long lo = LLONG_MAX, hi = LLONG_MIN;
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[1];
    ix.offsets(i, off);
    const long long v = static_cast<long long>(index[off[0]]);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
#pragma unroll
  for (int width = 16; width > 0; width /= 2) {
    const long long olo = __shfl_down_sync(0xffffffffu, lo, width);
    const long long ohi = __shfl_down_sync(0xffffffffu, hi, width);
    lo = olo < lo ? olo : lo;
    hi = ohi > hi ? ohi : hi;
  }
  if ((threadIdx.x & 31) == 0) {
    atomicMin(&lohi[0], lo);
    atomicMax(&lohi[1], hi);
  }
}

// ---- host helpers ----

/// dst[p] = src[p] for every position p of shape; both pointers at their
/// first element, strides may be negative (flip).
template <typename T>
void copy_strided(const char* op, cudaStream_t s, const Shape& shape, const T* src,
                  const Shape& src_strides, T* dst, const Shape& dst_strides) {
  const int64_t n = numel_of(shape);
  if (n == 0) return;
  Indexer<2> ix = make_indexer<2>(shape, {dst_strides, src_strides});
  if (ix.dense()) {
    copy_dense_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(src, dst, n);
  } else {
    copy_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(src, dst, n, ix);
  }
  NOVA_CUDA_LAUNCH_CHECK(op);
}

template <typename T, typename I>
void gather_launch(const char* op, const View& out, const T* px, const Shape& x_strides,
                   int64_t x_dim_stride, const I* pi, const Shape& idx_strides) {
  const int64_t n = out.numel();
  if (n == 0) return;
  Indexer<3> ix = make_indexer<3>(out.shape(), {out.strides(), x_strides, idx_strides});
  gather_kernel<T, I><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(out.data<T>(), px, x_dim_stride,
                                                                       pi, n, ix);
  NOVA_CUDA_LAUNCH_CHECK(op);
}

/// out = base, then the scatter of src through index (strides idx_strides
/// over the iteration shape `shape`).
void scatter_into(const char* op, const View& base, int dim, const View& index, const Shape& shape,
                  const View& src, const Shape& idx_strides, const View& out) {
  DeviceGuard guard(out.device().index);
  cudaStream_t s = stream_of(out);
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = out.data<T>();
    copy_strided(op, s, base.shape(), base.data<T>(), base.strides(), po, out.strides());
    const int64_t n = numel_of(shape);
    if (n == 0) return;
    dispatch_index(index.dtype(), [&](auto itag) {
      using I = decltype(itag);
      Indexer<3> ix = make_indexer<3>(shape, {without_dim(out.strides(), dim), src.strides(), idx_strides});
      scatter_kernel<T, I><<<blocks_for(n), kThreads, 0, s>>>(po, out.strides()[dim], src.data<T>(),
                                                              index.data<I>(), n, ix);
      NOVA_CUDA_LAUNCH_CHECK(op);
    });
  });
}

}  // namespace

std::pair<int64_t, int64_t> index_min_max(const View& index) {
  const int dev = index.device().index;
  DeviceGuard guard(dev);
  cudaStream_t s = stream_of(index);
  const int64_t n = index.numel();
  auto* lohi = static_cast<long long*>(allocate(2 * sizeof(long long), dev));
  long long host[2] = {LLONG_MAX, LLONG_MIN};
  try {
    min_max_init_kernel<<<1, 1, 0, s>>>(lohi);
    NOVA_CUDA_LAUNCH_CHECK("index_min_max");
    if (n > 0) {
      Indexer<1> ix = make_indexer<1>(index.shape(), {index.strides()});
      const int blocks = std::min(blocks_for(n), 1024);  // few atomics: one per warp
      dispatch_index(index.dtype(), [&](auto tag) {
        using I = decltype(tag);
        min_max_kernel<I><<<blocks, kThreads, 0, s>>>(index.data<I>(), n, ix, lohi);
        NOVA_CUDA_LAUNCH_CHECK("index_min_max");
      });
    }
    copy_device_to_host(host, lohi, sizeof(host), dev);  // waits for the stream
  } catch (...) {
    deallocate(lohi, dev);
    throw;
  }
  deallocate(lohi, dev);
  return {static_cast<int64_t>(host[0]), static_cast<int64_t>(host[1])};
}

void cat(const std::vector<View>& inputs, int dim, const View& out) {
  DeviceGuard guard(out.device().index);
  cudaStream_t s = stream_of(out);
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = out.data<T>();
    int64_t start = 0;
    for (const View& x : inputs) {
      copy_strided("cat", s, x.shape(), x.data<T>(), x.strides(), po + start * out.strides()[dim],
                   out.strides());
      start += x.size(dim);
    }
  });
}

void index_select(const View& x, int dim, const View& index, const View& out) {
  DeviceGuard guard(out.device().index);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), [&](auto itag) {
      using I = decltype(itag);
      gather_launch<T, I>("index_select", out, x.data<T>(), without_dim(x.strides(), dim),
                          x.strides()[dim], index.data<I>(), index_along(index, out.dim(), dim));
    });
  });
}

void index_add(const View& base, int dim, const View& index, const View& src,
               const View& out) {
  scatter_into("index_add", base, dim, index, src.shape(), src, index_along(index, src.dim(), dim), out);
}

void gather(const View& x, int dim, const View& index, const View& out) {
  DeviceGuard guard(out.device().index);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(index.dtype(), [&](auto itag) {
      using I = decltype(itag);
      gather_launch<T, I>("gather", out, x.data<T>(), without_dim(x.strides(), dim), x.strides()[dim],
                          index.data<I>(), index.strides());
    });
  });
}

void scatter_add(const View& base, int dim, const View& index, const View& src,
                 const View& out) {
  // iterate over index's shape; src is read at the same positions
  scatter_into("scatter_add", base, dim, index, index.shape(), src, index.strides(), out);
}

void one_hot(const View& indices, const View& out) {
  const int64_t n = indices.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  const int64_t classes = out.shape().back();
  // position p of indices starts row p of out: the contiguous strides of
  // indices' shape, scaled by the row length
  Shape row_starts = contiguous_strides(indices.shape());
  for (int d = 0; d < row_starts.size(); ++d) row_starts[d] *= classes;
  Indexer<2> ix = make_indexer<2>(indices.shape(), {row_starts, indices.strides()});
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    dispatch_index(indices.dtype(), [&](auto itag) {
      using I = decltype(itag);
      one_hot_kernel<T, I><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(out.data<T>(),
                                                                            indices.data<I>(), n, ix);
      NOVA_CUDA_LAUNCH_CHECK("one_hot");
    });
  });
}

void pad(const View& x, const std::vector<int64_t>& before, double value, const View& out) {
  DeviceGuard guard(out.device().index);
  cudaStream_t s = stream_of(out);
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* po = out.data<T>();
    const T fill_value = static_cast<T>(value);
    const int64_t n = out.numel();
    if (n > 0) {
      Indexer<1> ix = make_indexer<1>(out.shape(), {out.strides()});
      fill_kernel<T><<<blocks_for(n), kThreads, 0, s>>>(po, n, ix, fill_value);
      NOVA_CUDA_LAUNCH_CHECK("pad");
    }
    // the block of x that lands inside out: cropped where before[d] < 0 (start
    // later in x) or where out ends first
    Shape overlap = x.shape();
    const T* src = x.data<T>();
    T* dst = po;
    for (int d = 0; d < x.dim(); ++d) {
      const int64_t in_start = std::max<int64_t>(0, -before[d]);
      const int64_t out_start = std::max<int64_t>(0, before[d]);
      const int64_t length = std::min(x.size(d) - in_start, out.size(d) - out_start);
      if (length <= 0) return;  // nothing of x survives: out is all padding
      overlap[d] = length;
      src += in_start * x.strides()[d];
      dst += out_start * out.strides()[d];
    }
    copy_strided("pad", s, overlap, src, x.strides(), dst, out.strides());
  });
}

void flip(const View& x, const std::vector<bool>& flip_dim, const View& out) {
  DeviceGuard guard(out.device().index);
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // a flipped dim is read from its last element with a negated stride
    const T* src = x.data<T>();
    Shape strides = x.strides();
    for (int d = 0; d < x.dim(); ++d)
      if (flip_dim[d] && x.size(d) > 0) {
        src += (x.size(d) - 1) * strides[d];
        strides[d] = -strides[d];
      }
    copy_strided("flip", stream_of(out), x.shape(), src, strides, out.data<T>(), out.strides());
  });
}

}  // namespace nova::cuda
