// kernels/cpu/batch_norm_backward.h: batch_norm's backward with batch
// statistics as one CPU kernel, for core/normalization.cpp. Written with ops
// it is a dozen passes over the activation (x - mu, * rstd, g * w, two means,
// three products, two differences, two sums), each a separate broadcast loop
// over rows as short as a 3x3 map; in CosRec's step those passes were a fifth
// of the time. The kernel does the same arithmetic in two passes per channel
// and gives the composed ops' bits: each product and difference rounded to
// the dtype in the same order (its file is compiled without floating-point
// contraction), each mean and sum accumulated in double over (n, l) in
// order, as the sum kernel does. CPU only: CUDA keeps the composed ops.
#pragma once

#include "core/base/view.h"

namespace nova::cpu {

/// For x and grad [N, C, L] (contiguous), the saved statistics mean and
/// rstd [C], weight [C] (or undefined: no affine weight), writes
///   xhat = (x - mean) * rstd,  dxhat = grad * weight (grad without weight)
///   grad_x      = rstd * ((dxhat - mean_R(dxhat)) - xhat * mean_R(dxhat * xhat))
///   grad_weight = sum_R(grad * xhat),  grad_bias = sum_R(grad)
/// with R the dims N and L. Each output may be undefined (not wanted).
/// float and double.
void batch_norm_backward(const View& x, const View& grad, const View& mean, const View& rstd, const View& weight,
                         const View& grad_x, const View& grad_weight, const View& grad_bias);

}  // namespace nova::cpu
