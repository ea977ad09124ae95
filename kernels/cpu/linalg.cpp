// kernels/cpu/linalg.cpp: batched LU inverse and solve, and the symmetric
// eigendecomposition, with Eigen.
// Each matrix of the batch is read through a strided Eigen::Map (no gather:
// PartialPivLU copies its input into its own factor storage anyway), factored
// as P A = L U, then either inverted (solve against I) or used to solve
// against the matching right-hand side, written straight into the output.
// One PartialPivLU object serves the whole batch, so its storage is allocated
// once per call, not once per matrix.
//
// eigh: Eigen's SelfAdjointEigenSolver (tridiagonal reduction + implicit
// symmetric QR) reads the lower triangle of each matrix, the half
// torch.linalg.eigh reads by default, and returns ascending eigenvalues.
//
// Singular means: a zero pivot on U's diagonal, or a reciprocal condition
// number (Eigen's 1-norm estimate) below the dtype's epsilon, where the
// result would carry no correct digit. Non-finite input is not called
// singular: its NaNs propagate to the output as they would in any other op.
#include "kernels/linalg.h"

#include <cmath>
#include <limits>

// GCC 12 warns "'__Y' may be used uninitialized" inside its own
// avx512fintrin.h when Eigen's eigensolver is built for AVX-512: the header
// writes _mm512_undefined_pd() as `__m512d __Y = __Y;`. A false positive of
// the header (core/base/philox.cpp meets the same one), silenced for this
// file: the warning is issued where Eigen's templates are instantiated, below.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#include <Eigen/Core>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>

namespace nova::cpu {

namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
/// A rows x cols matrix at p whose elements are (row stride, col stride) apart.
template <typename T>
using StridedMap = Eigen::Map<const RowMajor<T>, Eigen::Unaligned,
                              Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>>;

template <typename T>
StridedMap<T> matrix_at(const T* p, int64_t rows, int64_t cols, const View& t) {
  const int nd = t.dim();
  return StridedMap<T>(p, rows, cols,
                       Eigen::Stride<Eigen::Dynamic, Eigen::Dynamic>(t.strides()[nd - 2],
                                                                     t.strides()[nd - 1]));
}

/// Factors a into lu and throws when a is singular (see the file comment).
template <typename T>
void factor(const char* op, const StridedMap<T>& a, Eigen::PartialPivLU<RowMajor<T>>& lu,
            int64_t index) {
  lu.compute(a);
  const auto pivots = lu.matrixLU().diagonal();
  const bool zero_pivot = (pivots.array() == T(0)).any();
  const T rcond = lu.rcond();  // NaN for NaN input, and NaN < eps is false
  NOVA_CHECK(!zero_pivot && !(rcond < std::numeric_limits<T>::epsilon()),
             "{}: matrix {} of the batch is singular (reciprocal condition number {:.3g} < "
             "{} epsilon {:.3g})",
             op, index, zero_pivot ? 0.0 : double(rcond), dtype_name(dtype_of<T>()),
             double(std::numeric_limits<T>::epsilon()));
}

}  // namespace

void inverse(const View& a, const View& out) {
  dispatch_floating("inverse", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (out.numel() == 0) return;
    const int64_t n = a.size(-1);
    const int64_t batches = out.numel() / (n * n);
    const T* pa = a.data<T>();
    T* po = out.data<T>();
    Eigen::PartialPivLU<RowMajor<T>> lu(n);
    for (int64_t i = 0; i < batches; ++i) {
      factor<T>("inverse", matrix_at(pa + matrix_batch_offset(a, i), n, n, a), lu, i);
      Eigen::Map<RowMajor<T>>(po + i * n * n, n, n) = lu.inverse();
    }
  });
}

void solve(const View& a, const View& b, const View& out) {
  dispatch_floating("solve", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = out.size(-2), k = out.size(-1);
    if (out.numel() == 0) return;
    const int64_t batches = out.numel() / (n * k);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* po = out.data<T>();
    Eigen::PartialPivLU<RowMajor<T>> lu(n);
    for (int64_t i = 0; i < batches; ++i) {
      factor<T>("solve", matrix_at(pa + matrix_batch_offset(a, i), n, n, a), lu, i);
      Eigen::Map<RowMajor<T>>(po + i * n * k, n, k) =
          lu.solve(matrix_at(pb + matrix_batch_offset(b, i), n, k, b));
    }
  });
}

void eigh(const View& a, const View& values, const View& vectors) {
  dispatch_floating("eigh", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if (vectors.numel() == 0) return;
    const int64_t n = a.size(-1);
    const int64_t batches = vectors.numel() / (n * n);
    const T* pa = a.data<T>();
    T* pv = values.data<T>();
    T* pw = vectors.data<T>();
    Eigen::SelfAdjointEigenSolver<RowMajor<T>> solver(n);
    for (int64_t i = 0; i < batches; ++i) {
      solver.compute(matrix_at(pa + matrix_batch_offset(a, i), n, n, a), Eigen::ComputeEigenvectors);
      NOVA_CHECK(solver.info() == Eigen::Success,
                 "eigh: matrix {} of the batch did not converge (non-finite entries?)", i);
      Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(pv + i * n, n) = solver.eigenvalues();
      Eigen::Map<RowMajor<T>>(pw + i * n * n, n, n) = solver.eigenvectors();
    }
  });
}

}  // namespace nova::cpu
