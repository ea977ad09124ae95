// kernels/cpu/gemm.cpp: gemm through OpenBLAS or Eigen (see gemm.h).
#include "kernels/cpu/gemm.h"

#include <Eigen/Core>
#include <algorithm>
#include <cstdlib>
#include <string>

#ifdef NOVA_HAVE_OPENBLAS
#include <cblas.h>
#endif

namespace nova::cpu {

namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <typename M>
using StridedMap = Eigen::Map<const M, Eigen::Unaligned, Eigen::OuterStride<>>;

/// Calls f(matrix expression) for the rows x cols matrix at p with strides
/// (rs, cs): a row-major map when rows are dense, a column-major map when
/// columns are (a transposed view), a gathered copy when neither is.
template <typename T, typename F>
void with_matrix(const T* p, int64_t rows, int64_t cols, int64_t rs, int64_t cs, F&& f) {
  if (cs == 1 || cols == 1) {
    f(StridedMap<RowMajor<T>>(p, rows, cols, Eigen::OuterStride<>(rs)));
  } else if (rs == 1 || rows == 1) {
    f(StridedMap<ColMajor<T>>(p, rows, cols, Eigen::OuterStride<>(cs)));
  } else {
    RowMajor<T> dense(rows, cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) dense(i, j) = p[i * rs + j * cs];
    f(StridedMap<RowMajor<T>>(dense.data(), rows, cols, Eigen::OuterStride<>(cols)));
  }
}

template <typename T>
void eigen_gemm(int64_t rows, int64_t cols, int64_t inner, const T* a, int64_t ars, int64_t acs, const T* b,
                int64_t brs, int64_t bcs, T* c, int64_t ldc) {
  Eigen::Map<RowMajor<T>, Eigen::Unaligned, Eigen::OuterStride<>> result(c, rows, cols, Eigen::OuterStride<>(ldc));
  with_matrix(a, rows, inner, ars, acs, [&](const auto& A) {
    with_matrix(b, inner, cols, brs, bcs, [&](const auto& B) { result.noalias() = A * B; });
  });
}

#ifdef NOVA_HAVE_OPENBLAS
/// How cblas (row-major) reads a rows x cols operand with strides (rs, cs):
/// as stored (NoTrans, ld = rs) or as the transpose of a row-major cols x rows
/// matrix (Trans, ld = cs). False when neither fits (no unit stride, or a
/// leading dimension BLAS would refuse, as for a broadcast operand's 0).
bool blas_operand(int64_t rows, int64_t cols, int64_t rs, int64_t cs, CBLAS_TRANSPOSE* trans, int64_t* ld) {
  // a dim of size 1 is never stepped along, so its stride may be anything
  if (cs == 1 || cols == 1) {
    const int64_t l = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    if (l >= std::max<int64_t>(cols, 1)) {
      *trans = CblasNoTrans;
      *ld = l;
      return true;
    }
  }
  if (rs == 1 || rows == 1) {
    const int64_t l = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    if (l >= std::max<int64_t>(rows, 1)) {
      *trans = CblasTrans;
      *ld = l;
      return true;
    }
  }
  return false;
}

void blas_call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, int(m), int(n), int(k), 1.0f, a, int(lda), b, int(ldb), 0.0f, c, int(ldc));
}
void blas_call(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t m, int64_t n, int64_t k, const double* a,
               int64_t lda, const double* b, int64_t ldb, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, int(m), int(n), int(k), 1.0, a, int(lda), b, int(ldb), 0.0, c, int(ldc));
}
#endif

}  // namespace

template <typename T>
void gemm(int64_t rows, int64_t cols, int64_t inner, const T* a, int64_t ars, int64_t acs, const T* b,
          int64_t brs, int64_t bcs, T* c, int64_t ldc) {
  if (rows == 0 || cols == 0) return;
  if (inner == 0) {
    for (int64_t i = 0; i < rows; ++i) std::fill(c + i * ldc, c + i * ldc + cols, T(0));
    return;
  }
#ifdef NOVA_HAVE_OPENBLAS
  constexpr int64_t kIntMax = 2147483647;  // cblas takes int sizes
  CBLAS_TRANSPOSE ta, tb;
  int64_t lda, ldb;
  if (std::max({rows, cols, inner, ldc}) <= kIntMax && blas_operand(rows, inner, ars, acs, &ta, &lda) &&
      blas_operand(inner, cols, brs, bcs, &tb, &ldb) && lda <= kIntMax && ldb <= kIntMax && ldc >= cols) {
    blas_call(ta, tb, rows, cols, inner, a, lda, b, ldb, c, ldc);
    return;
  }
#endif
  eigen_gemm(rows, cols, inner, a, ars, acs, b, brs, bcs, c, ldc);
}

template void gemm<float>(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t,
                          int64_t, float*, int64_t);
template void gemm<double>(int64_t, int64_t, int64_t, const double*, int64_t, int64_t, const double*, int64_t,
                           int64_t, double*, int64_t);

const char* gemm_backend() {
#ifdef NOVA_HAVE_OPENBLAS
  // "OpenBLAS 0.3.21 (SkylakeX kernels)": which kernels OpenBLAS picked
  // matters as much as its version. OPENBLAS_CORETYPE in the environment
  // overrides its detection, and on a CPU with AVX-512 the Haswell (AVX2)
  // kernels run its float GEMMs at about half the speed (bench/RESULTS.md,
  // 2026-12-07), so a benchmark must say when that happened.
  static const std::string name = [] {
    std::string cfg = openblas_get_config();  // "OpenBLAS 0.3.21 ..."
    std::string label = cfg.substr(0, cfg.find(' ', cfg.find(' ') + 1));
    label += std::string(" (") + openblas_get_corename() + " kernels";
    if (const char* forced = std::getenv("OPENBLAS_CORETYPE"); forced != nullptr && *forced != '\0')
      label += std::string(", OPENBLAS_CORETYPE=") + forced;
    return label + ")";
  }();
  return name.c_str();
#else
  return "Eigen";
#endif
}

}  // namespace nova::cpu
