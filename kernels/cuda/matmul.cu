// kernels/cuda/matmul.cu: batched GEMM through cuBLAS (see kernels/matmul.h),
// mirroring kernels/cpu/matmul.cpp.
//
// cuBLAS is column-major and nova row-major: a row-major [r, c] matrix with
// row stride ld is, read column-major, its transpose [c, r] with leading
// dimension ld. So C = A B (row-major) is computed as C^T = B^T A^T
// (column-major): gemm(opB, opA, n, m, k, B, A, C with ldc = n). A matrix
// whose last dim is dense goes in with CUBLAS_OP_N; one whose second-to-last
// dim is dense (a transposed view: x @ w.t()) goes in with CUBLAS_OP_T and no
// copy; a matrix with neither dense is made contiguous first by core
// (matmul_reads_in_place says which).
// Batches whose storage offsets are i * stride for both inputs (contiguous
// batches, or broadcast ones with stride 0) take one
// cublas?gemmStridedBatched call; other batch layouts a call per batch.
// One cuBLAS handle per device, created on first use and kept for the life of
// the process, set to nova's stream before every call. TF32 is off unless
// set_allow_tf32(true): CUBLAS_DEFAULT_MATH keeps float32 GEMMs in full
// float32 (no tensor-core TF32 rounding).
#include "kernels/matmul.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <mutex>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/reduce_block.cuh"
#include "kernels/cuda/runtime.h"

/// NOVA_CUBLAS_CHECK("op", cublasSgemm(...)) throws nova::Error naming the op,
/// the call and cuBLAS's status text on any status but success.
#define NOVA_CUBLAS_CHECK(op, call)                                                          \
  do {                                                                                       \
    cublasStatus_t nova_cublas_status_ = (call);                                             \
    if (nova_cublas_status_ != CUBLAS_STATUS_SUCCESS)                                        \
      ::nova::fail("{}: {} failed: {} (cuBLAS status {})", op, #call,                        \
                   cublasGetStatusString(nova_cublas_status_), int(nova_cublas_status_));    \
  } while (0)

namespace nova::cuda {

namespace {

constexpr int kMaxDevices = 64;

std::atomic<bool> g_allow_tf32{false};
std::mutex g_handles_mutex;
cublasHandle_t g_handles[kMaxDevices] = {};

/// The handle of `device` (current when this is called), created on first use.
cublasHandle_t handle_for(int device) {
  NOVA_CHECK(device >= 0 && device < kMaxDevices, "matmul: device index {} out of range", device);
  std::lock_guard<std::mutex> lock(g_handles_mutex);
  if (!g_handles[device]) NOVA_CUBLAS_CHECK("matmul", cublasCreate(&g_handles[device]));
  return g_handles[device];
}

/// How the rows x cols matrix with strides (rs, cs) enters cuBLAS as its own
/// transpose (see the top of the file): op N with leading dim rs when the
/// last dim is dense, op T with leading dim cs when the other is. False when
/// neither dim is dense (the caller copies).
bool describe(int64_t rows, int64_t cols, int64_t rs, int64_t cs, cublasOperation_t* op, int64_t* ld) {
  if (cs == 1 || cols == 1) {
    *op = CUBLAS_OP_N;
    *ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    if (*ld >= std::max<int64_t>(cols, 1) && *ld <= INT_MAX) return true;
  }
  if (rs == 1 || rows == 1) {
    *op = CUBLAS_OP_T;
    *ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    if (*ld >= std::max<int64_t>(rows, 1) && *ld <= INT_MAX) return true;
  }
  return false;
}

/// True when batch i of t starts at i * (*stride) for every i.
bool uniform_batches(const View& t, int64_t batches, int64_t* stride) {
  *stride = batches > 1 ? matrix_batch_offset(t, 1) : 0;
  int64_t span = 1;  // batches covered by one step of dim d
  for (int d = t.dim() - 3; d >= 0; --d) {
    if (t.size(d) != 1 && t.strides()[d] != *stride * span) return false;
    span *= t.size(d);
  }
  return true;
}

cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    const float* alpha, const float* a, int lda, long long sa, const float* b, int ldb,
                    long long sb, const float* beta, float* c, int ldc, long long sc, int count) {
  return cublasSgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, count);
}

cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    const double* alpha, const double* a, int lda, long long sa, const double* b, int ldb,
                    long long sb, const double* beta, double* c, int ldc, long long sc, int count) {
  return cublasDgemmStridedBatched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, count);
}

template <typename T>
void matmul_typed(const View& a, const View& b, const View& out) {
  const int nd = out.dim();
  const int64_t m = out.size(nd - 2), n = out.size(nd - 1), k = a.size(nd - 1);
  if (out.numel() == 0) return;
  const int device = out.device().index;
  detail::OnDevice on(device);
  cudaStream_t s = static_cast<cudaStream_t>(nova::cuda::stream(device));
  if (k == 0) {  // an empty sum: zeros
    NOVA_CUDA_CHECK("matmul", cudaMemsetAsync(out.data<T>(), 0, size_t(out.numel()) * sizeof(T), s));
    return;
  }
  NOVA_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX,
             "matmul: sizes m={}, n={}, k={} exceed what cuBLAS takes (2^31 - 1)", m, n, k);
  const int64_t batches = out.numel() / (m * n);
  cublasOperation_t op_a, op_b;
  int64_t lda, ldb;
  // core copies an operand this cannot read (matmul_reads_in_place)
  NOVA_CHECK(describe(m, k, a.strides()[nd - 2], a.strides()[nd - 1], &op_a, &lda) &&
                 describe(k, n, b.strides()[nd - 2], b.strides()[nd - 1], &op_b, &ldb),
             "matmul: an operand has no unit stride in its matrix dims (strides {} and {})",
             a.strides().str(), b.strides().str());
  cublasHandle_t h = handle_for(device);
  NOVA_CUBLAS_CHECK("matmul", cublasSetStream(h, s));
  NOVA_CUBLAS_CHECK("matmul", cublasSetMathMode(h, g_allow_tf32.load() ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                        : CUBLAS_DEFAULT_MATH));
  const T alpha = 1, beta = 0;
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* pc = out.data<T>();
  int64_t sa = 0, sb = 0;
  if (uniform_batches(a, batches, &sa) && uniform_batches(b, batches, &sb)) {
    for (int64_t done = 0; done < batches;) {  // batchCount is an int
      const int count = int(std::min<int64_t>(batches - done, INT_MAX));
      NOVA_CUBLAS_CHECK("matmul", gemm(h, op_b, op_a, int(n), int(m), int(k), &alpha, pb + done * sb, int(ldb), sb,
                                       pa + done * sa, int(lda), sa, &beta, pc + done * m * n, int(n), m * n,
                                       count));
      done += count;
    }
  } else {
    for (int64_t i = 0; i < batches; ++i) {
      const T* pbi = pb + matrix_batch_offset(b, i);
      const T* pai = pa + matrix_batch_offset(a, i);
      NOVA_CUBLAS_CHECK("matmul", gemm(h, op_b, op_a, int(n), int(m), int(k), &alpha, pbi, int(ldb), 0, pai,
                                       int(lda), 0, &beta, pc + i * m * n, int(n), m * n, 1));
    }
  }
}

}  // namespace

void matmul(const View& a, const View& b, const View& out) {
  dispatch_floating("matmul", a.dtype(), [&](auto tag) { matmul_typed<decltype(tag)>(a, b, out); });
}

bool matmul_reads_in_place(const View& m) {
  const int nd = m.dim();
  cublasOperation_t op;
  int64_t ld;
  return describe(m.size(nd - 2), m.size(nd - 1), m.strides()[nd - 2], m.strides()[nd - 1], &op, &ld);
}

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }

}  // namespace nova::cuda
