// kernels/cuda/linalg.cu: batched LU inverse and solve, and the symmetric
// eigendecomposition, through cuSOLVER (see kernels/linalg.h), mirroring
// kernels/cpu/linalg.cpp.
//
// Layout. cuSOLVER is column-major and nova row-major. Each matrix of a is
// first copied (cuda::copy, any strides) into a contiguous row-major
// workspace `lu`, which read column-major is A^T: we factor M = A^T
// (P M = L U, getrf) and never transpose A itself.
//   inverse: out is set to I and getrs(OP_N) solves M X = I in place, so
//     X = M^-1 = A^-T column-major, which read row-major is A^-1: the result
//     lands in `out` with no transpose.
//   solve: A = M^T, so getrs(OP_T) solves A X = B. getrs wants B column-major
//     (n x k, ld n), which is B^T row-major: B is copied transposed into a
//     contiguous [..., k, n] workspace, solved in place, and copied transposed
//     into out.
// Batches: one getrf (and one getrs) per matrix on nova's stream, the
// pattern of the CPU loop. cuBLAS's getrfBatched would take many small
// matrices in one launch but needs device arrays of pointers and has no
// getrs-with-transpose for our layout in all versions; a per-matrix loop is
// simple to read and right, and batched small-n speed is left for later.
// One cusolverDn handle per device, created on first use and kept for the
// life of the process, set to nova's stream before every call. The factors,
// pivots and cuSOLVER's work area are DeviceBuffers (scratch from the caching
// allocator); the outputs come from core.
//
// eigh: each matrix is copied into a contiguous row-major workspace, which
// read column-major is A^T; nova's lower triangle is then cuSOLVER's upper
// one (CUBLAS_FILL_MODE_UPPER). syevd writes the eigenvectors over it as
// columns of a column-major matrix, i.e. as rows of the row-major workspace,
// so they are copied transposed into `vectors`. One syevd per matrix; the
// info array is copied back to name a matrix that did not converge.
//
// Singular, as on the CPU: a zero pivot on U's diagonal, or a reciprocal
// condition number (1-norm) below the dtype's epsilon. The GPU reads the zero
// pivots from getrf's per-matrix info (copied back: one sync per call, before
// any getrs). For n <= kRcondMaxN it also estimates rcond on the host, from a
// copy of the LU factors and pivots and ||A||_1 computed on the device, with
// the same Hager/Higham 1-norm estimator as Eigen's rcond() (a few O(n^2)
// triangular solves per matrix; computed in double for both dtypes). For
// larger n only exact zero pivots are detected: copying n^2 factors per
// matrix to the host would then cost as much as the factorization. Like the
// CPU, NaN input is not called singular (NaN rcond < eps is false).
#include "kernels/linalg.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/device_buffer.h"
#include "kernels/elementwise.h"
#include "kernels/cuda/runtime.h"

/// NOVA_CUSOLVER_CHECK("op", cusolverDnDgetrf(...)) throws nova::Error naming
/// the op, the call and cuSOLVER's status on any status but success.
#define NOVA_CUSOLVER_CHECK(op, call)                                                        \
  do {                                                                                       \
    cusolverStatus_t nova_cusolver_status_ = (call);                                         \
    if (nova_cusolver_status_ != CUSOLVER_STATUS_SUCCESS)                                    \
      ::nova::fail("{}: {} failed: {} (cuSOLVER status {})", op, #call,                      \
                   ::nova::cuda::cusolver_status_name(nova_cusolver_status_),                \
                   int(nova_cusolver_status_));                                              \
  } while (0)

namespace nova::cuda {

/// cuSOLVER has no status-string function: the names of the common ones.
const char* cusolver_status_name(cusolverStatus_t status) {
  switch (status) {
    case CUSOLVER_STATUS_SUCCESS: return "success";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "not initialized";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "allocation failed";
    case CUSOLVER_STATUS_INVALID_VALUE: return "invalid value";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "architecture mismatch";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "execution failed";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "internal error";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "not supported";
    default: return "unknown status";
  }
}

namespace {

constexpr int kMaxDevices = 64;
/// Largest n whose rcond is estimated (see the top of the file).
constexpr int64_t kRcondMaxN = 256;

std::mutex g_handles_mutex;
cusolverDnHandle_t g_handles[kMaxDevices] = {};

/// The handle of `device` (current when this is called), created on first use.
cusolverDnHandle_t handle_for(const char* op, int device) {
  NOVA_CHECK(device >= 0 && device < kMaxDevices, "{}: device index {} out of range", op, device);
  std::lock_guard<std::mutex> lock(g_handles_mutex);
  if (!g_handles[device]) NOVA_CUSOLVER_CHECK(op, cusolverDnCreate(&g_handles[device]));
  return g_handles[device];
}

// ---- typed cuSOLVER calls ----

cusolverStatus_t getrf_buffer_size(cusolverDnHandle_t h, int n, float* a, int* lwork) {
  return cusolverDnSgetrf_bufferSize(h, n, n, a, n, lwork);
}
cusolverStatus_t getrf_buffer_size(cusolverDnHandle_t h, int n, double* a, int* lwork) {
  return cusolverDnDgetrf_bufferSize(h, n, n, a, n, lwork);
}
cusolverStatus_t getrf(cusolverDnHandle_t h, int n, float* a, float* work, int* ipiv, int* info) {
  return cusolverDnSgetrf(h, n, n, a, n, work, ipiv, info);
}
cusolverStatus_t getrf(cusolverDnHandle_t h, int n, double* a, double* work, int* ipiv, int* info) {
  return cusolverDnDgetrf(h, n, n, a, n, work, ipiv, info);
}
cusolverStatus_t getrs(cusolverDnHandle_t h, cublasOperation_t op, int n, int k, const float* lu,
                       const int* ipiv, float* b, int* info) {
  return cusolverDnSgetrs(h, op, n, k, lu, n, ipiv, b, n, info);
}
cusolverStatus_t getrs(cusolverDnHandle_t h, cublasOperation_t op, int n, int k, const double* lu,
                       const int* ipiv, double* b, int* info) {
  return cusolverDnDgetrs(h, op, n, k, lu, n, ipiv, b, n, info);
}

// ---- kernels ----

/// out (contiguous [total / (n n), n, n]) = identity matrices.
template <typename T>
__global__ void identity_kernel(T* out, int64_t n, int64_t total) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t e = i % (n * n);
    out[i] = e / n == e % n ? T(1) : T(0);
  }
}

/// norms[b] = ||A_b||_1 (largest column sum of |a|) for the contiguous
/// row-major matrices a [batches, n, n]; a block per matrix, a thread per
/// column (coalesced rows). NaN propagates, as in Eigen's maxCoeff.
template <typename T>
__global__ void norm1_kernel(const T* a, int64_t n, int64_t batches, double* norms) {
  __shared__ double partial[kThreads];
  for (int64_t b = blockIdx.x; b < batches; b += gridDim.x) {
    const T* m = a + b * n * n;
    double best = 0;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += fabs(double(m[i * n + j]));
      if (s > best || s != s) best = s;
    }
    partial[threadIdx.x] = best;
    __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w /= 2) {
      if (threadIdx.x < w) {
        const double o = partial[threadIdx.x + w];
        if (o > partial[threadIdx.x] || o != o) partial[threadIdx.x] = o;
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) norms[b] = partial[0];
    __syncthreads();  // partial is reused for the next matrix
  }
}

// ---- host rcond estimate from the factors ----

/// The LU factors of a column-major n x n matrix M (P M = L U, L unit lower,
/// LAPACK's 1-based ipiv: row i was swapped with row ipiv[i] - 1, in order).
struct HostLU {
  int64_t n;
  const double* lu;
  const int* ipiv;

  double at(int64_t i, int64_t j) const { return lu[j * n + i]; }

  /// x <- M^-1 x: swap, L forward, U back.
  void solve(std::vector<double>& x) const {
    for (int64_t i = 0; i < n; ++i) std::swap(x[i], x[ipiv[i] - 1]);
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = j + 1; i < n; ++i) x[i] -= at(i, j) * x[j];
    for (int64_t j = n - 1; j >= 0; --j) {
      x[j] /= at(j, j);
      for (int64_t i = 0; i < j; ++i) x[i] -= at(i, j) * x[j];
    }
  }
  /// x <- M^-T x (M^T = U^T L^T P): U^T forward, L^T back, swaps reversed.
  void solve_transposed(std::vector<double>& x) const {
    for (int64_t j = 0; j < n; ++j) {
      double s = x[j];
      for (int64_t i = 0; i < j; ++i) s -= at(i, j) * x[i];
      x[j] = s / at(j, j);
    }
    for (int64_t j = n - 1; j >= 0; --j) {
      double s = x[j];
      for (int64_t i = j + 1; i < n; ++i) s -= at(i, j) * x[i];
      x[j] = s;
    }
    for (int64_t i = n - 1; i >= 0; --i) std::swap(x[i], x[ipiv[i] - 1]);
  }
};

double norm1(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += std::abs(v);
  return s;
}

int64_t argmax_abs(const std::vector<double>& x) {
  int64_t j = 0;
  for (int64_t i = 1; i < int64_t(x.size()); ++i)
    if (std::abs(x[i]) > std::abs(x[j])) j = i;
  return j;
}

/// Reciprocal 1-norm condition number of A from the factors of M = A^T and
/// ||A||_1: 1 / (||A||_1 est(||A^-1||_1)), est by Hager/Higham as in Eigen's
/// rcond_invmatrix_L1_norm_estimate. A^-1 x = M^-T x and A^-T x = M^-1 x.
double rcond_estimate(const HostLU& f, double anorm) {
  const int64_t n = f.n;
  if (n == 0) return 1;
  if (anorm == 0) return 0;
  if (n == 1) return 1;
  auto apply_inv = [&](std::vector<double>& x) { f.solve_transposed(x); };  // A^-1
  auto apply_inv_t = [&](std::vector<double>& x) { f.solve(x); };           // A^-T
  std::vector<double> v(n, 1.0 / double(n));
  apply_inv(v);
  double lower = norm1(v);
  std::vector<double> sign(n);
  for (int64_t i = 0; i < n; ++i) sign[i] = v[i] >= 0 ? 1.0 : -1.0;
  std::vector<double> z = sign;
  apply_inv_t(z);
  int64_t j = argmax_abs(z);
  for (int iter = 0; iter < 4; ++iter) {
    std::fill(v.begin(), v.end(), 0.0);
    v[j] = 1;
    apply_inv(v);
    const double next = norm1(v);
    if (!(next > lower)) break;
    lower = next;
    bool same_sign = true;
    for (int64_t i = 0; i < n; ++i) {
      const double s = v[i] >= 0 ? 1.0 : -1.0;
      same_sign = same_sign && s == sign[i];
      sign[i] = s;
    }
    if (same_sign) break;
    z = sign;
    apply_inv_t(z);
    const int64_t old_j = j;
    j = argmax_abs(z);
    if (j == old_j) break;
  }
  // Higham's alternating vector guards against the estimator's bad cases
  for (int64_t i = 0; i < n; ++i) v[i] = (i % 2 ? -1.0 : 1.0) * (1.0 + double(i) / double(n - 1));
  apply_inv(v);
  const double alternate = 2 * norm1(v) / (3 * double(n));
  const double inv_norm = std::max(lower, alternate);
  return (1 / inv_norm) / anorm;
}

/// The factors of every matrix of a batch (see the top of the file).
struct Factors {
  DeviceBuffer lu;    // contiguous [..., n, n]: row-major A = column-major A^T, factored
  DeviceBuffer ipiv;  // int32 [batches, n]
  DeviceBuffer info;  // int32 [batches]
  int64_t batches = 0;
};

/// Copies a ([..., n, n], any strides, batch dims expanded) to the
/// workspace, factors each matrix with getrf and throws like the CPU when
/// one is singular, naming the first such matrix in batch order.
template <typename T>
Factors factor_all(const char* op, const View& a, int64_t n, cusolverDnHandle_t h, cudaStream_t s) {
  const int device = a.device().index;
  Factors f;
  f.lu = DeviceBuffer(a.shape(), a.dtype(), device);
  cuda::copy(a, f.lu.view());
  f.batches = a.numel() / (n * n);
  f.ipiv = DeviceBuffer({f.batches, n}, kInt32, device);
  f.info = DeviceBuffer({f.batches}, kInt32, device);
  T* plu = f.lu.data<T>();
  int* pipiv = f.ipiv.data<int32_t>();
  int* pinfo = f.info.data<int32_t>();
  const bool estimate = n <= kRcondMaxN;
  DeviceBuffer norms;
  if (estimate) {  // ||A||_1 before getrf overwrites A
    norms = DeviceBuffer({f.batches}, kFloat64, device);
    norm1_kernel<T><<<blocks_for(f.batches * kThreads), kThreads, 0, s>>>(plu, n, f.batches,
                                                                       norms.data<double>());
    NOVA_CUDA_LAUNCH_CHECK(op);
  }
  int lwork = 0;
  NOVA_CUSOLVER_CHECK(op, getrf_buffer_size(h, int(n), plu, &lwork));
  DeviceBuffer work({std::max(lwork, 1)}, a.dtype(), device);
  for (int64_t b = 0; b < f.batches; ++b)
    NOVA_CUSOLVER_CHECK(op, getrf(h, int(n), plu + b * n * n, work.data<T>(), pipiv + b * n, pinfo + b));

  // back to the host: info (and the factors for the estimate); waits for the stream
  std::vector<int> info(size_t(f.batches));
  copy_device_to_host(info.data(), pinfo, info.size() * sizeof(int), device);
  std::vector<T> lu_host;
  std::vector<int> ipiv_host;
  std::vector<double> norms_host, lu_double;
  if (estimate) {
    lu_host.resize(size_t(a.numel()));
    ipiv_host.resize(size_t(f.batches * n));
    norms_host.resize(size_t(f.batches));
    copy_device_to_host(lu_host.data(), plu, lu_host.size() * sizeof(T), device);
    copy_device_to_host(ipiv_host.data(), pipiv, ipiv_host.size() * sizeof(int), device);
    copy_device_to_host(norms_host.data(), norms.data<double>(), norms_host.size() * sizeof(double),
                        device);
    lu_double.resize(size_t(n * n));
  }
  const double eps = double(std::numeric_limits<T>::epsilon());
  for (int64_t b = 0; b < f.batches; ++b) {
    NOVA_CHECK(info[b] >= 0, "{}: getrf rejected its argument {} (matrix {} of the batch)", op,
               -info[b], b);
    const bool zero_pivot = info[b] > 0;  // U(info, info) is exactly zero
    double rcond = 1;                     // not estimated: only zero pivots count
    if (!zero_pivot && estimate) {
      for (int64_t e = 0; e < n * n; ++e) lu_double[e] = double(lu_host[b * n * n + e]);
      rcond = rcond_estimate(HostLU{n, lu_double.data(), ipiv_host.data() + b * n}, norms_host[b]);
    }
    NOVA_CHECK(!zero_pivot && !(rcond < eps),
               "{}: matrix {} of the batch is singular (reciprocal condition number {:.3g} < "
               "{} epsilon {:.3g})",
               op, b, zero_pivot ? 0.0 : rcond, dtype_name(dtype_of<T>()), eps);
  }
  return f;
}

template <typename T>
void inverse_typed(const View& a, const View& out) {
  if (out.numel() == 0) return;
  const int64_t n = a.size(-1);
  NOVA_CHECK(n <= INT_MAX, "inverse: n = {} exceeds what cuSOLVER takes (2^31 - 1)", n);
  const int device = out.device().index;
  DeviceGuard guard(device);
  cudaStream_t s = static_cast<cudaStream_t>(nova::cuda::stream(device));
  cusolverDnHandle_t h = handle_for("inverse", device);
  NOVA_CUSOLVER_CHECK("inverse", cusolverDnSetStream(h, s));
  Factors f = factor_all<T>("inverse", a, n, h, s);
  // out = I; M X = I (OP_N) gives X = A^-T column-major = A^-1 row-major
  T* po = out.data<T>();
  identity_kernel<T><<<blocks_for(out.numel()), kThreads, 0, s>>>(po, n, out.numel());
  NOVA_CUDA_LAUNCH_CHECK("inverse");
  const T* plu = f.lu.data<T>();
  const int* pipiv = f.ipiv.data<int32_t>();
  int* pinfo = f.info.data<int32_t>();  // getrs reports only bad arguments here
  for (int64_t b = 0; b < f.batches; ++b)
    NOVA_CUSOLVER_CHECK("inverse", getrs(h, CUBLAS_OP_N, int(n), int(n), plu + b * n * n,
                                         pipiv + b * n, po + b * n * n, pinfo + b));
}

template <typename T>
void solve_typed(const View& a, const View& b, const View& out) {
  const int64_t n = out.size(-2), k = out.size(-1);
  if (out.numel() == 0) return;
  NOVA_CHECK(n <= INT_MAX && k <= INT_MAX,
             "solve: n = {}, k = {} exceed what cuSOLVER takes (2^31 - 1)", n, k);
  const int device = out.device().index;
  DeviceGuard guard(device);
  cudaStream_t s = static_cast<cudaStream_t>(nova::cuda::stream(device));
  cusolverDnHandle_t h = handle_for("solve", device);
  NOVA_CUSOLVER_CHECK("solve", cusolverDnSetStream(h, s));
  Factors f = factor_all<T>("solve", a, n, h, s);
  // B transposed into a contiguous [..., k, n]: each B column-major with ld n
  Shape st = out.shape();
  std::swap(st[st.size() - 2], st[st.size() - 1]);
  DeviceBuffer x(st, out.dtype(), device);
  cuda::copy(b.transpose(-1, -2), x.view());
  const T* plu = f.lu.data<T>();
  const int* pipiv = f.ipiv.data<int32_t>();
  int* pinfo = f.info.data<int32_t>();  // getrs reports only bad arguments here
  T* px = x.data<T>();
  // A = M^T: OP_T solves A X = B in place
  for (int64_t i = 0; i < f.batches; ++i)
    NOVA_CUSOLVER_CHECK("solve", getrs(h, CUBLAS_OP_T, int(n), int(k), plu + i * n * n,
                                       pipiv + i * n, px + i * n * k, pinfo + i));
  cuda::copy(x.view().transpose(-1, -2), out);  // column-major X back to row-major
}

cusolverStatus_t syevd_buffer_size(cusolverDnHandle_t h, int n, const float* a, const float* w,
                                   int* lwork) {
  return cusolverDnSsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, a, n, w,
                                     lwork);
}
cusolverStatus_t syevd_buffer_size(cusolverDnHandle_t h, int n, const double* a, const double* w,
                                   int* lwork) {
  return cusolverDnDsyevd_bufferSize(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, a, n, w,
                                     lwork);
}
cusolverStatus_t syevd(cusolverDnHandle_t h, int n, float* a, float* w, float* work, int lwork,
                       int* info) {
  return cusolverDnSsyevd(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, a, n, w, work,
                          lwork, info);
}
cusolverStatus_t syevd(cusolverDnHandle_t h, int n, double* a, double* w, double* work, int lwork,
                       int* info) {
  return cusolverDnDsyevd(h, CUSOLVER_EIG_MODE_VECTOR, CUBLAS_FILL_MODE_UPPER, n, a, n, w, work,
                          lwork, info);
}

template <typename T>
void eigh_typed(const View& a, const View& values, const View& vectors) {
  if (vectors.numel() == 0) return;
  const int64_t n = a.size(-1);
  NOVA_CHECK(n <= INT_MAX, "eigh: n = {} exceeds what cuSOLVER takes (2^31 - 1)", n);
  const int device = vectors.device().index;
  DeviceGuard guard(device);
  cudaStream_t s = static_cast<cudaStream_t>(nova::cuda::stream(device));
  cusolverDnHandle_t h = handle_for("eigh", device);
  NOVA_CUSOLVER_CHECK("eigh", cusolverDnSetStream(h, s));
  DeviceBuffer work_a(a.shape(), a.dtype(), device);
  cuda::copy(a, work_a.view());
  const int64_t batches = vectors.numel() / (n * n);
  DeviceBuffer info({batches}, kInt32, device);
  T* pa = work_a.data<T>();
  T* pw = values.data<T>();
  int lwork = 0;
  NOVA_CUSOLVER_CHECK("eigh", syevd_buffer_size(h, int(n), pa, pw, &lwork));
  DeviceBuffer work({std::max(lwork, 1)}, a.dtype(), device);
  for (int64_t b = 0; b < batches; ++b)
    NOVA_CUSOLVER_CHECK("eigh", syevd(h, int(n), pa + b * n * n, pw + b * n, work.data<T>(), lwork,
                                      info.data<int32_t>() + b));
  std::vector<int> info_host(static_cast<size_t>(batches));
  copy_device_to_host(info_host.data(), info.data<int32_t>(), info_host.size() * sizeof(int), device);
  for (int64_t b = 0; b < batches; ++b) {
    NOVA_CHECK(info_host[b] >= 0, "eigh: syevd rejected its argument {} (matrix {} of the batch)",
               -info_host[b], b);
    NOVA_CHECK(info_host[b] == 0,
               "eigh: matrix {} of the batch did not converge (non-finite entries?)", b);
  }
  cuda::copy(work_a.view().transpose(-1, -2), vectors);  // rows of the workspace -> columns
}

}  // namespace

void eigh(const View& a, const View& values, const View& vectors) {
  dispatch_floating("eigh", a.dtype(), [&](auto tag) { eigh_typed<decltype(tag)>(a, values, vectors); });
}

void inverse(const View& a, const View& out) {
  dispatch_floating("inverse", a.dtype(), [&](auto tag) { inverse_typed<decltype(tag)>(a, out); });
}

void solve(const View& a, const View& b, const View& out) {
  dispatch_floating("solve", a.dtype(), [&](auto tag) { solve_typed<decltype(tag)>(a, b, out); });
}

}  // namespace nova::cuda
