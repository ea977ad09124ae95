// kernels/cuda/elementwise.cu: the elementwise kernels on the GPU, a port of
// kernels/cpu/elementwise.cpp (the same unary formulas, from
// kernels/elementwise_math.h; same dtype coverage, same error messages).
//
// Two kernels per arity:
//   dense    every operand is contiguous over the (collapsed) output: element
//            i is at p + i. Each thread handles V = 16 / sizeof(widest type)
//            elements with one 16-byte load/store per operand (float4,
//            double2, ...) when every pointer is aligned to its pack; the
//            n % V tail is done element by element in the same kernel.
//   strided  any strides (0 on broadcast dims): the flat output index is
//            turned into one offset per operand by an Indexer.
// Both are grid-stride loops with 64-bit indices. The kind/dtype switch runs
// once on the host; each case instantiates the kernel with its own functor,
// so the device loop is a plain expression.
#include "kernels/elementwise.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/indexer.cuh"
#include "kernels/cuda/runtime.h"
#include "kernels/elementwise_math.h"

namespace nova::cuda {

namespace {

// ---- vector packs ----

/// V elements loaded or stored as one aligned access (16 bytes for the
/// widest operand: float4, double2, 2 x int64, ...).
template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

template <typename T, int V>
bool aligned_for_pack(const T* p) {
  return reinterpret_cast<uintptr_t>(p) % (sizeof(T) * V) == 0;
}

template <typename... Ts>
constexpr int pack_width() {
  return int(16 / std::max({sizeof(Ts)...}));
}

// ---- generic kernels: 1 and 2 inputs, one output ----

template <int V, typename I, typename O, typename F>
__global__ void map1_dense(const I* x, O* out, int64_t n, F f) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = n / V;
  const auto* xp = reinterpret_cast<const Pack<I, V>*>(x);
  auto* op = reinterpret_cast<Pack<O, V>*>(out);
  for (int64_t i = first; i < packs; i += step) {
    const Pack<I, V> a = xp[i];
    Pack<O, V> r;
#pragma unroll
    for (int k = 0; k < V; ++k) r.v[k] = f(a.v[k]);
    op[i] = r;
  }
  for (int64_t i = packs * V + first; i < n; i += step) out[i] = f(x[i]);
}

template <typename I, typename O, typename F>
__global__ void map1_strided(const I* x, O* out, int64_t n, Indexer<2> ix, F f) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[2];
    ix.offsets(i, off);
    out[off[0]] = f(x[off[1]]);
  }
}

template <int V, typename I, typename O, typename F>
__global__ void map2_dense(const I* a, const I* b, O* out, int64_t n, F f) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = n / V;
  const auto* ap = reinterpret_cast<const Pack<I, V>*>(a);
  const auto* bp = reinterpret_cast<const Pack<I, V>*>(b);
  auto* op = reinterpret_cast<Pack<O, V>*>(out);
  for (int64_t i = first; i < packs; i += step) {
    const Pack<I, V> x = ap[i];
    const Pack<I, V> y = bp[i];
    Pack<O, V> r;
#pragma unroll
    for (int k = 0; k < V; ++k) r.v[k] = f(x.v[k], y.v[k]);
    op[i] = r;
  }
  for (int64_t i = packs * V + first; i < n; i += step) out[i] = f(a[i], b[i]);
}

template <typename I, typename O, typename F>
__global__ void map2_strided(const I* a, const I* b, O* out, int64_t n, Indexer<3> ix, F f) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[3];
    ix.offsets(i, off);
    out[off[0]] = f(a[off[1]], b[off[2]]);
  }
}

/// out = f(x) with x already broadcast to out's shape (`xs` its strides).
template <typename I, typename O, typename F>
void map1(const char* op, const I* x, const Shape& xs, O* out, const View& out_t, F f) {
  const int64_t n = out_t.numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(out_t);
  Indexer<2> ix = make_indexer<2>(out_t.shape(), {out_t.strides(), xs});
  constexpr int V = pack_width<I, O>();
  if (ix.dense() && aligned_for_pack<I, V>(x) && aligned_for_pack<O, V>(out)) {
    map1_dense<V><<<blocks_for(n / V + n % V), kThreads, 0, s>>>(x, out, n, f);
  } else if (ix.dense()) {
    map1_dense<1><<<blocks_for(n), kThreads, 0, s>>>(x, out, n, f);
  } else {
    map1_strided<<<blocks_for(n), kThreads, 0, s>>>(x, out, n, ix, f);
  }
  NOVA_CUDA_LAUNCH_CHECK(op);
}

/// out = f(a, b) with a, b broadcast to out's shape.
template <typename I, typename O, typename F>
void map2(const char* op, const View& a, const View& b, const View& out, F f) {
  const int64_t n = out.numel();
  if (n == 0) return;
  cudaStream_t s = stream_of(out);
  const I* pa = a.data<I>();
  const I* pb = b.data<I>();
  O* po = out.data<O>();
  Indexer<3> ix = make_indexer<3>(out.shape(), {out.strides(), broadcast_strides(a.shape(), a.strides(), out.shape()),
                                                broadcast_strides(b.shape(), b.strides(), out.shape())});
  constexpr int V = pack_width<I, O>();
  if (ix.dense() && aligned_for_pack<I, V>(pa) && aligned_for_pack<I, V>(pb) && aligned_for_pack<O, V>(po)) {
    map2_dense<V><<<blocks_for(n / V + n % V), kThreads, 0, s>>>(pa, pb, po, n, f);
  } else if (ix.dense()) {
    map2_dense<1><<<blocks_for(n), kThreads, 0, s>>>(pa, pb, po, n, f);
  } else {
    map2_strided<<<blocks_for(n), kThreads, 0, s>>>(pa, pb, po, n, ix, f);
  }
  NOVA_CUDA_LAUNCH_CHECK(op);
}

// ---- unary: the formulas of kernels/elementwise_math.h ----

template <typename T, UnaryKind K>
void launch_unary(const View& x, const View& out, double alpha, double beta) {
  const Shape xs = x.strides();
  map1(unary_name(K), x.data<T>(), xs, out.data<T>(), out, UnaryFormula<T, K>{T(alpha), T(beta)});
}

template <typename T>
void unary_typed(UnaryKind kind, const View& x, const View& out, double alpha, double beta) {
  switch (kind) {
#define NOVA_UNARY_CASE(kind_, name, domain)                                 \
  case UnaryKind::kind_:                                                      \
    if constexpr (unary_defined_for<T>(UnaryDomain::domain))                  \
      return launch_unary<T, UnaryKind::kind_>(x, out, alpha, beta);          \
    break;
    NOVA_UNARY_KINDS(NOVA_UNARY_CASE)
#undef NOVA_UNARY_CASE
  }
  fail("{}: not defined for {}", unary_name(kind), dtype_name(x.dtype()));
}

// ---- binary ----

template <typename T, BinaryKind K>
struct BinaryOp {
  using Out = std::conditional_t<(K >= BinaryKind::Eq), bool, T>;
  __device__ __forceinline__ Out operator()(T x, T y) const {
    if constexpr (K == BinaryKind::Add) return T(x + y);
    if constexpr (K == BinaryKind::Sub) return T(x - y);
    if constexpr (K == BinaryKind::Mul) return T(x * y);
    if constexpr (K == BinaryKind::Div) return T(x / y);
    if constexpr (K == BinaryKind::Maximum) return x > y ? x : y;
    if constexpr (K == BinaryKind::Minimum) return x < y ? x : y;
    if constexpr (K == BinaryKind::Eq) return x == y;
    if constexpr (K == BinaryKind::Ne) return x != y;
    if constexpr (K == BinaryKind::Lt) return x < y;
    if constexpr (K == BinaryKind::Le) return x <= y;
    if constexpr (K == BinaryKind::Gt) return x > y;
    if constexpr (K == BinaryKind::Ge) return x >= y;
    if constexpr (K == BinaryKind::Pow) {
      if constexpr (std::is_floating_point_v<T>) return math::pow(x, y);
    }
    return Out(x);  // not reached: the host switch launches only defined kinds
  }
};

template <typename T, BinaryKind K>
void launch_binary(const View& a, const View& b, const View& out) {
  using Op = BinaryOp<T, K>;
  map2<T, typename Op::Out>(binary_name(K), a, b, out, Op{});
}

template <typename T>
void binary_typed(BinaryKind kind, const View& a, const View& b, const View& out) {
#define NOVA_BINARY_CASE(K) \
  case BinaryKind::K: return launch_binary<T, BinaryKind::K>(a, b, out);
  if constexpr (std::is_same_v<T, bool>) {
    switch (kind) {  // bool: comparisons for equality only (checked by the caller)
      NOVA_BINARY_CASE(Eq)
      NOVA_BINARY_CASE(Ne)
      default: break;
    }
  } else {
    switch (kind) {
      NOVA_BINARY_CASE(Add)
      NOVA_BINARY_CASE(Sub)
      NOVA_BINARY_CASE(Mul)
      NOVA_BINARY_CASE(Div)
      NOVA_BINARY_CASE(Maximum)
      NOVA_BINARY_CASE(Minimum)
      NOVA_BINARY_CASE(Eq)
      NOVA_BINARY_CASE(Ne)
      NOVA_BINARY_CASE(Lt)
      NOVA_BINARY_CASE(Le)
      NOVA_BINARY_CASE(Gt)
      NOVA_BINARY_CASE(Ge)
      case BinaryKind::Pow:
        if constexpr (std::is_floating_point_v<T>) return launch_binary<T, BinaryKind::Pow>(a, b, out);
        break;
    }
  }
#undef NOVA_BINARY_CASE
  fail("{}: not defined for {}", binary_name(kind), dtype_name(a.dtype()));
}

// ---- where, copy, fill ----

template <typename T>
__global__ void where_strided(const bool* c, const T* a, const T* b, T* out, int64_t n, Indexer<4> ix) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[4];
    ix.offsets(i, off);
    out[off[0]] = c[off[1]] ? a[off[2]] : b[off[3]];
  }
}

template <typename S, typename O>
struct Convert {
  __device__ __forceinline__ O operator()(S v) const { return static_cast<O>(v); }
};

template <typename T>
__global__ void fill_dense(T* out, int64_t n, T value) {
  constexpr int V = 16 / sizeof(T);
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = n / V;
  Pack<T, V> r;
#pragma unroll
  for (int k = 0; k < V; ++k) r.v[k] = value;
  auto* op = reinterpret_cast<Pack<T, V>*>(out);
  for (int64_t i = first; i < packs; i += step) op[i] = r;
  for (int64_t i = packs * V + first; i < n; i += step) out[i] = value;
}

template <typename T>
__global__ void fill_strided(T* out, int64_t n, Indexer<1> ix, T value) {
  const int64_t step = int64_t(blockDim.x) * gridDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[1];
    ix.offsets(i, off);
    out[off[0]] = value;
  }
}

}  // namespace

void unary(UnaryKind kind, const View& x, const View& out, double alpha, double beta) {
  DeviceGuard guard(out.device().index);  // launch on the tensors' device
  dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      fail("{}: not defined for bool", unary_name(kind));
    } else {
      unary_typed<T>(kind, x, out, alpha, beta);
    }
  });
}

void binary(BinaryKind kind, const View& a, const View& b, const View& out) {
  DeviceGuard guard(out.device().index);
  dispatch_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      NOVA_CHECK(kind == BinaryKind::Eq || kind == BinaryKind::Ne, "{}: not defined for bool",
                 binary_name(kind));
    }
    binary_typed<T>(kind, a, b, out);
  });
}

void where(const View& cond, const View& a, const View& b, const View& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  const Shape& s = out.shape();
  Indexer<4> ix = make_indexer<4>(s, {out.strides(), broadcast_strides(cond.shape(), cond.strides(), s),
                                      broadcast_strides(a.shape(), a.strides(), s),
                                      broadcast_strides(b.shape(), b.strides(), s)});
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    where_strided<T><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(cond.data<bool>(), a.data<T>(),
                                                                      b.data<T>(), out.data<T>(), n, ix);
    NOVA_CUDA_LAUNCH_CHECK("where");
  });
}

void copy(const View& src, const View& out) {
  DeviceGuard guard(out.device().index);
  const Shape ss = broadcast_strides(src.shape(), src.strides(), out.shape());
  dispatch_dtype(src.dtype(), [&](auto stag) {
    using S = decltype(stag);
    dispatch_dtype(out.dtype(), [&](auto otag) {
      using O = decltype(otag);
      map1("copy", src.data<S>(), ss, out.data<O>(), out, Convert<S, O>{});
    });
  });
}

void fill(const View& out, double value) {
  const int64_t n = out.numel();
  if (n == 0) return;
  DeviceGuard guard(out.device().index);
  Indexer<1> ix = make_indexer<1>(out.shape(), {out.strides()});
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    T* po = out.data<T>();
    cudaStream_t s = stream_of(out);
    if (ix.dense() && aligned_for_pack<T, 16 / sizeof(T)>(po)) {
      fill_dense<T><<<blocks_for(n / (16 / sizeof(T)) + n % (16 / sizeof(T))), kThreads, 0, s>>>(po, n, v);
    } else {
      fill_strided<T><<<blocks_for(n), kThreads, 0, s>>>(po, n, ix, v);
    }
    NOVA_CUDA_LAUNCH_CHECK("fill");
  });
}

}  // namespace nova::cuda
