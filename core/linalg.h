// core/linalg.h: dense linear algebra on batches of square matrices: inverse
// and solve (LU with partial pivoting; Eigen on the CPU, cuSOLVER on CUDA),
// differentiable to any order, throwing nova::Error for a singular matrix
// ("inverse: matrix 3 of the batch is singular ..."); and eigh, the
// symmetric eigendecomposition (forward only: FID's matrix square root).
#pragma once

#include "core/tensor.h"

namespace nova::ops {

/// A^-1 for a [..., n, n] (float32/float64); leading dims are a batch.
Tensor inverse(const Tensor& a);
/// X with a X = b, for a [..., n, n] and b [..., n, k] (result [..., n, k])
/// or b [..., n] (result [..., n]). b counts as a batch of vectors when it is
/// 1-D or has a's shape without the last dim, as torch.linalg.solve; the
/// batch dims of a and b broadcast. Cheaper and more accurate than
/// matmul(inverse(a), b).
Tensor solve(const Tensor& a, const Tensor& b);

/// The eigendecomposition a = vectors diag(values) vectors^T of symmetric
/// matrices (torch.linalg.eigh).
struct EighResult {
  Tensor values;   // [..., n], ascending
  Tensor vectors;  // [..., n, n], eigenvector j in column j (orthonormal; signs arbitrary)
};
/// eigh of a [..., n, n] (float32/float64), reading only the lower triangle
/// of each matrix, as torch.linalg.eigh does by default. Not differentiable:
/// it throws when a requires grad while grad mode is on (run it under
/// NoGradGuard or on a detached tensor).
EighResult eigh(const Tensor& a);

}  // namespace nova::ops
