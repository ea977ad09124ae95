// kernels/segment.h: per-segment row sums for grad_split's fused path.
// Tensors are cut along dim 0 into K contiguous segments of rows; segment k is
// rows [offsets[k], offsets[k+1]). All inputs are contiguous (core sees to it).
//   segment_sum    x [N, M] -> out [K, M]:  out[k, j] = sum_{r in k} x[r, j]
//   segment_outer  a [N, m], b [N, n] -> out [K, m, n]:  out[k] = a_k^T b_k
// Both overwrite out; sums accumulate in double for float32. segment_outer
// is the CPU's only: on CUDA core builds it from matmul (one strided-batched
// cuBLAS call for equal segments). Backward passes are ops in core/segment.cpp.
//
// Declared once, for both back ends, by the list kernels/segment.def; the CPU
// versions are in kernels/cpu/segment.cpp, the CUDA ones in
// kernels/cuda/segment.cu.
#pragma once

#include <vector>

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/segment.def"
#include "kernels/declare_family.h"

// The CPU back end only (see the top of this file).
namespace nova::cpu {

/// out[k] = a_k^T @ b_k for the row blocks a_k, b_k of segment k: a [N, m],
/// b [N, n], out [K, m, n], all contiguous; zeros for an empty segment.
void segment_outer(const View& a, const View& b, const std::vector<int64_t>& offsets,
                   const View& out);

}  // namespace nova::cpu
