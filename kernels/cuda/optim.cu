// kernels/cuda/optim.cu: fused optimizer-step kernels (see kernels/optim.h), a port
// of kernels/cpu/optim.cpp: the same loop body per element, in the
// parameter's type T, with the step-only scalars (bias corrections, the
// decayed Adagrad rate) computed once in double on the host exactly as the
// CPU computes them. One grid-stride launch per call; empty tensors launch
// nothing. norm_piece (clip_grad_norm_) is a block reduction to one double
// partial per block, added on the host in block order. pair_dots (the
// adaptive-weighting inner products) is one fused reduction of the same shape
// with 3 or 6 sums per thread; weighted_sum one elementwise pass.
#include "kernels/optim.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce_block.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda {

namespace {

#define NOVA_GRID_LOOP(i, n)                                                              \
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < (n);              \
       i += int64_t(gridDim.x) * blockDim.x)

// d + wd * p with both operations rounded, as the CPU kernels were meant to
// compute it (kernels/CMakeLists.txt: GCC may contract it there). nvcc would
// contract it into one FMA; where the gradient and wd * p nearly cancel, the
// two roundings differ in many bits, and RMSprop's and Adagrad's division by
// a small denominator amplifies that (seen on an H100: 2e-5 relative in an
// RMSprop momentum buffer).
__device__ inline float add_decay(float d, float wd, float p) { return __fadd_rn(d, __fmul_rn(wd, p)); }
__device__ inline double add_decay(double d, double wd, double p) { return __dadd_rn(d, __dmul_rn(wd, p)); }

template <typename T>
__global__ void sgd_kernel(T* p, const T* g, T* buf, int64_t n, T lr_t, T mu, T keep, T wd,
                           bool use_wd, bool nesterov, bool first_step) {
  NOVA_GRID_LOOP(i, n) {
    T d = g[i];
    if (use_wd) d = add_decay(d, wd, p[i]);
    if (buf) {
      T b = first_step ? d : mu * buf[i] + keep * d;
      buf[i] = b;
      d = nesterov ? d + mu * b : b;
    }
    p[i] -= lr_t * d;
  }
}

template <typename T>
__global__ void adam_kernel(T* p, const T* g, T* m, T* v, T* v_max, int64_t n, T step_size,
                            T inv_sqrt_bc2, T b1, T b2, T one_b1, T one_b2, T eps_t, T wd,
                            T shrink, bool l2, bool decay) {
  NOVA_GRID_LOOP(i, n) {
    T d = g[i];
    if (decay) p[i] *= shrink;
    if (l2) d = add_decay(d, wd, p[i]);
    const T mi = b1 * m[i] + one_b1 * d;
    const T vi = b2 * v[i] + one_b2 * d * d;
    m[i] = mi;
    v[i] = vi;
    T v_used = vi;
    if (v_max) {
      const T old = v_max[i];
      v_used = (old < vi) ? vi : old;  // std::max(old, vi)
      v_max[i] = v_used;
    }
    p[i] -= step_size * mi / (sqrt(v_used) * inv_sqrt_bc2 + eps_t);
  }
}

template <typename T>
__global__ void rmsprop_kernel(T* p, const T* g, T* v, T* buf, T* g_avg, int64_t n, T lr_t, T a,
                               T one_a, T eps_t, T wd, T mu, bool use_wd) {
  NOVA_GRID_LOOP(i, n) {
    T d = g[i];
    if (use_wd) d = add_decay(d, wd, p[i]);
    const T vi = a * v[i] + one_a * d * d;
    v[i] = vi;
    T var = vi;
    if (g_avg) {
      const T gi = a * g_avg[i] + one_a * d;
      g_avg[i] = gi;
      var -= gi * gi;
    }
    const T denom = sqrt(var) + eps_t;  // eps outside the sqrt, as PyTorch
    if (buf) {
      const T b = mu * buf[i] + d / denom;
      buf[i] = b;
      p[i] -= lr_t * b;
    } else {
      p[i] -= lr_t * d / denom;
    }
  }
}

template <typename T>
__global__ void adagrad_kernel(T* p, const T* g, T* s, int64_t n, T clr, T wd, T eps_t,
                               bool use_wd) {
  NOVA_GRID_LOOP(i, n) {
    T d = g[i];
    if (use_wd) d = add_decay(d, wd, p[i]);
    const T si = s[i] + d * d;
    s[i] = si;
    p[i] -= clr * d / (sqrt(si) + eps_t);
  }
}

}  // namespace

template <typename T>
void sgd_step(const View& param, const View& grad, const View& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool first_step) {
  const int64_t n = param.numel();
  if (n == 0) return;
  detail::OnDevice on(param.device().index);
  const T lr_t = T(lr), mu = T(momentum), keep = T(1.0 - dampening), wd = T(weight_decay);
  sgd_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(param)>>>(
      param.data<T>(), grad.data<T>(), momentum_buffer.data_or_null<T>(), n, lr_t, mu, keep, wd,
      weight_decay != 0, nesterov, first_step);
  NOVA_CUDA_LAUNCH_CHECK("sgd_step");
}

template <typename T>
void adam_step(const View& param, const View& grad, const View& exp_avg,
               const View& exp_avg_sq, const View& max_exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool amsgrad) {
  const int64_t n = param.numel();
  if (n == 0) return;
  detail::OnDevice on(param.device().index);
  const double bias_correction1 = 1.0 - std::pow(beta1, double(step));
  const double bias_correction2 = 1.0 - std::pow(beta2, double(step));
  const T step_size = T(lr / bias_correction1);
  const T inv_sqrt_bc2 = T(1.0 / std::sqrt(bias_correction2));
  const T b1 = T(beta1), b2 = T(beta2), one_b1 = T(1.0 - beta1), one_b2 = T(1.0 - beta2);
  const T eps_t = T(eps), wd = T(weight_decay), shrink = T(1.0 - lr * weight_decay);
  const bool l2 = weight_decay != 0 && !decoupled;
  const bool decay = weight_decay != 0 && decoupled;
  adam_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(param)>>>(
      param.data<T>(), grad.data<T>(), exp_avg.data<T>(), exp_avg_sq.data<T>(),
      amsgrad ? max_exp_avg_sq.data<T>() : nullptr, n, step_size, inv_sqrt_bc2, b1, b2, one_b1,
      one_b2, eps_t, wd, shrink, l2, decay);
  NOVA_CUDA_LAUNCH_CHECK("adam_step");
}

template <typename T>
void rmsprop_step(const View& param, const View& grad, const View& square_avg,
                  const View& momentum_buffer, const View& grad_avg, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool centered) {
  const int64_t n = param.numel();
  if (n == 0) return;
  detail::OnDevice on(param.device().index);
  const T lr_t = T(lr), a = T(alpha), one_a = T(1.0 - alpha), eps_t = T(eps);
  const T wd = T(weight_decay), mu = T(momentum);
  rmsprop_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(param)>>>(
      param.data<T>(), grad.data<T>(), square_avg.data<T>(),
      momentum > 0 ? momentum_buffer.data<T>() : nullptr, centered ? grad_avg.data<T>() : nullptr,
      n, lr_t, a, one_a, eps_t, wd, mu, weight_decay != 0);
  NOVA_CUDA_LAUNCH_CHECK("rmsprop_step");
}

template <typename T>
void adagrad_step(const View& param, const View& grad, const View& state_sum, int64_t step,
                  double lr, double lr_decay, double weight_decay, double eps) {
  const int64_t n = param.numel();
  if (n == 0) return;
  detail::OnDevice on(param.device().index);
  const T clr = T(lr / (1.0 + double(step - 1) * lr_decay));
  const T wd = T(weight_decay), eps_t = T(eps);
  adagrad_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(param)>>>(
      param.data<T>(), grad.data<T>(), state_sum.data<T>(), n, clr, wd, eps_t, weight_decay != 0);
  NOVA_CUDA_LAUNCH_CHECK("adagrad_step");
}

namespace {

// ---- norm_piece ----

/// The CPU's accumulation rule, also used to combine partials: NaN wins.
__host__ __device__ inline double max_nan(double acc, double a) {
  if (acc != acc) return acc;
  return (a > acc || a != a) ? a : acc;
}

struct AddD {
  __device__ double operator()(double a, double b) const { return a + b; }
};
struct MaxD {
  __device__ double operator()(double a, double b) const { return max_nan(a, b); }
};

/// partial[blockIdx.x] = this block's sum |x|^p (or max |x| when kind == 0).
/// kind: 0 = inf, 1 = p 1, 2 = p 2, 3 = general p.
template <typename T, bool kDense>
__global__ void norm_piece_kernel(const T* x, detail::Dims dims, int64_t n, double p, int kind,
                                  double* partial) {
  __shared__ __align__(16) unsigned char shared[detail::kSharedBytes];
  double* sh = static_cast<double*>(static_cast<void*>(shared));
  double acc = 0;
  NOVA_GRID_LOOP(i, n) {
    const T v = kDense ? x[i] : x[detail::offset_of(dims, i)];
    const double a = fabs(double(v));
    if (kind == 0) {
      acc = max_nan(acc, a);
    } else if (kind == 2) {
      acc += a * a;
    } else if (kind == 1) {
      acc += a;
    } else {
      acc += pow(a, p);
    }
  }
  acc = kind == 0 ? detail::block_allreduce(acc, MaxD(), sh)
                  : detail::block_allreduce(acc, AddD(), sh);
  if (threadIdx.x == 0) partial[blockIdx.x] = acc;
}

}  // namespace

template <typename T>
double norm_piece(const View& x, double p) {
  const int64_t n = x.numel();
  if (n == 0) return 0;
  const int device = x.device().index;
  detail::OnDevice on(device);
  const int kind = std::isinf(p) ? 0 : p == 1 ? 1 : p == 2 ? 2 : 3;
  detail::Dims dims;
  bool dense = true;
  int64_t expected = 1;
  for (int d = x.dim() - 1; d >= 0; --d) {
    if (x.size(d) != 1 && x.strides()[d] != expected) dense = false;
    expected *= x.size(d);
  }
  for (int d = 0; d < x.dim(); ++d) {
    dims.size[dims.n] = x.size(d);
    dims.stride[dims.n] = x.strides()[d];
    ++dims.n;
  }
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
  void* buf = allocate(size_t(blocks) * sizeof(double), device);
  std::vector<double> partial(size_t(blocks), 0.0);
  try {
    cudaStream_t s = stream_of(x);
    double* out = static_cast<double*>(buf);
    if (dense)
      norm_piece_kernel<T, true><<<unsigned(blocks), kThreads, 0, s>>>(x.data<T>(), dims, n, p, kind, out);
    else
      norm_piece_kernel<T, false><<<unsigned(blocks), kThreads, 0, s>>>(x.data<T>(), dims, n, p, kind, out);
    NOVA_CUDA_LAUNCH_CHECK("global_norm");
    copy_device_to_host(partial.data(), out, partial.size() * sizeof(double), device);
  } catch (...) {
    deallocate(buf, device);
    throw;
  }
  deallocate(buf, device);
  double acc = 0;
  for (double v : partial) acc = kind == 0 ? max_nan(acc, v) : acc + v;
  return acc;
}

namespace {

// ---- pair_dots (dot3 / dot6) and weighted_sum (adaptive weighting) ----

/// partial[blockIdx.x * D + d] = this block's sum d of the K(K+1)/2 inner
/// products (squares first, then pairs (0,1), (0,2), (1,2)), in double.
template <typename T, int K>
__global__ void pair_dots_kernel(const T* x0, const T* x1, const T* x2, int64_t n,
                                 double* partial) {
  constexpr int D = K * (K + 1) / 2;
  __shared__ double sh[kThreads / detail::kWarp][D];
  double acc[D];
#pragma unroll
  for (int d = 0; d < D; ++d) acc[d] = 0;
  NOVA_GRID_LOOP(i, n) {
    double v[K];
    v[0] = double(x0[i]);
    v[1] = double(x1[i]);
    if constexpr (K == 3) v[2] = double(x2[i]);
    int d = 0;
#pragma unroll
    for (int k = 0; k < K; ++k) acc[d++] += v[k] * v[k];
#pragma unroll
    for (int k = 0; k < K; ++k)
#pragma unroll
      for (int l = k + 1; l < K; ++l) acc[d++] += v[k] * v[l];
  }
  // warp tree in a fixed order, then the block's warps in order
#pragma unroll
  for (int d = 0; d < D; ++d)
    for (int mask = detail::kWarp / 2; mask > 0; mask /= 2)
      acc[d] += __shfl_xor_sync(0xffffffffu, acc[d], mask);
  const int warp = threadIdx.x / detail::kWarp, lane = threadIdx.x % detail::kWarp;
  if (lane == 0) {
#pragma unroll
    for (int d = 0; d < D; ++d) sh[warp][d] = acc[d];
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int d = 0; d < D; ++d) {
      double total = 0;
      for (int w = 0; w < int(blockDim.x) / detail::kWarp; ++w) total += sh[w][d];
      partial[int64_t(blockIdx.x) * D + d] = total;
    }
  }
}

template <typename T, int K>
void pair_dots_typed(const std::vector<View>& xs, double* out) {
  constexpr int D = K * (K + 1) / 2;
  for (int d = 0; d < D; ++d) out[d] = 0;
  const int64_t n = xs[0].numel();
  if (n == 0) return;
  const int device = xs[0].device().index;
  detail::OnDevice on(device);
  const int64_t blocks = std::min<int64_t>((n + kThreads - 1) / kThreads, 1024);
  void* buf = allocate(size_t(blocks * D) * sizeof(double), device);
  std::vector<double> partial(size_t(blocks * D), 0.0);
  try {
    const T* x2 = K == 3 ? xs[2].data<T>() : nullptr;
    pair_dots_kernel<T, K><<<unsigned(blocks), kThreads, 0, stream_of(xs[0])>>>(
        xs[0].data<T>(), xs[1].data<T>(), x2, n, static_cast<double*>(buf));
    NOVA_CUDA_LAUNCH_CHECK(K == 2 ? "dot3" : "dot6");
    copy_device_to_host(partial.data(), buf, partial.size() * sizeof(double), device);
  } catch (...) {
    deallocate(buf, device);
    throw;
  }
  deallocate(buf, device);
  for (int64_t b = 0; b < blocks; ++b)
    for (int d = 0; d < D; ++d) out[d] += partial[size_t(b * D + d)];
}

template <typename T>
__global__ void weighted_sum_kernel(T* o, const T* a, double wa, const T* b, double wb,
                                    const T* c, double wc, int64_t n) {
  NOVA_GRID_LOOP(i, n) {
    double v = wa * double(a[i]) + wb * double(b[i]);
    if (c) v += wc * double(c[i]);
    o[i] = T(v);
  }
}

}  // namespace

template <typename T>
void weighted_sum(const View& out, const View& a, double wa, const View& b, double wb,
                  const View& c, double wc) {
  const int64_t n = out.numel();
  if (n == 0) return;
  detail::OnDevice on(out.device().index);
  weighted_sum_kernel<T><<<blocks_for(n), kThreads, 0, stream_of(out)>>>(
      out.data<T>(), a.data<T>(), wa, b.data<T>(), wb, c.data_or_null<T>(), wc, n);
  NOVA_CUDA_LAUNCH_CHECK("weighted_sum_");
}

template <typename T>
void pair_dots(const std::vector<View>& xs, double* out) {
  if (xs.size() == 2) {
    pair_dots_typed<T, 2>(xs, out);
  } else {
    NOVA_CHECK(xs.size() == 3, "pair_dots: 2 or 3 vectors, got {}", xs.size());
    pair_dots_typed<T, 3>(xs, out);
  }
}

// float and double versions of every kernel of kernels/optim.def (core picks
// one per call: the dtype switch is there, once for both back ends)
#define NOVA_KERNEL_FOR_FLOATS(ret, name, params) \
  template ret name<float> params;               \
  template ret name<double> params;
#include "kernels/optim.def"
#undef NOVA_KERNEL_FOR_FLOATS

}  // namespace nova::cuda
