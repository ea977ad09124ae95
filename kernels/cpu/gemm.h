// kernels/cpu/gemm.h: the one dense matrix product every CPU kernel uses
// (matmul, segment_outer). Operands are given by pointer and (row, column)
// strides, so a transposed view is read in place.
//
// Which code multiplies: OpenBLAS's cblas_?gemm when nova was built with it
// (CMake NOVA_BLAS, found from Debian's libopenblas-openmp-dev) and each
// operand has a unit stride in one dim; otherwise Eigen. At the thesis's
// sizes OpenBLAS is 1.2-1.6x faster than Eigen on one core (bench notes in
// bench/RESULTS.md), and GEMMs are most of a small MLP's training step.
// Callers split work across threads themselves and call gemm from inside
// their parallel region, where OpenBLAS (OpenMP build) runs single-threaded.
#pragma once

#include <cstdint>

namespace nova::cpu {

/// C = A * B with C rows x cols (row-major, leading dimension ldc), A rows x
/// inner at a with strides (ars, acs), B inner x cols at b with (brs, bcs).
/// inner == 0 gives zeros. float and double.
template <typename T>
void gemm(int64_t rows, int64_t cols, int64_t inner, const T* a, int64_t ars, int64_t acs, const T* b,
          int64_t brs, int64_t bcs, T* c, int64_t ldc);

/// "OpenBLAS x.y.z" or "Eigen": what gemm uses in this build.
const char* gemm_backend();

}  // namespace nova::cpu
