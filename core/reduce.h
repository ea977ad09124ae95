// core/reduce.h: reductions over all dims or a list of dims, with keepdim:
// sum, mean, var, max/min (values and indices along one dim, or over all),
// amax/amin, argmax/argmin, norm, logsumexp.
// An empty dims list means "all dims". Results of float ops keep the input's
// dtype; float32 accumulates in double. Indices are int64 and carry no
// gradient; ties pick the first index.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::ops {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

/// Unbiased variance over all elements: sum (x - mean)^2 / (N - 1).
Tensor var(const Tensor& x);
/// Variance over `dims` (all when empty), divided by N - 1 when unbiased,
/// by N otherwise. N <= 1 with unbiased gives NaN, as in PyTorch.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, bool unbiased = true,
           bool keepdim = false);

/// The result of max/min along one dim: the extreme values and where they are
/// (int64 positions along that dim; the first one on ties).
struct MaxMin {
  Tensor values;
  Tensor indices;
};

/// Largest element (0-d). Ties share the gradient evenly, as torch.max().
Tensor max(const Tensor& x);
/// Largest element along `dim` and its index; the gradient goes to that index.
MaxMin max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor min(const Tensor& x);
MaxMin min(const Tensor& x, int64_t dim, bool keepdim = false);
/// Largest element over `dims` (all when empty); values only. Ties share the
/// gradient evenly, as torch.amax.
Tensor amax(const Tensor& x);
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor amin(const Tensor& x);
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

/// Row-major index of the largest element of the flattened tensor (0-d int64).
Tensor argmax(const Tensor& x);
/// Index of the largest element along `dim` (int64; first on ties).
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);

/// p-norm (sum |x|^p)^(1/p) over `dims` (all when empty), for p > 0;
/// p = INFINITY is max |x|. At x = 0 the gradient is 0 (PyTorch's choice for
/// p = 2), not the 0/0 of the formula.
Tensor norm(const Tensor& x, double p = 2.0, const std::vector<int64_t>& dims = {},
            bool keepdim = false);

/// log(sum(exp(x))) over all elements, computed as m + log(sum(exp(x - m)))
/// with m the max, so inputs around 1000 do not overflow.
Tensor logsumexp(const Tensor& x);
Tensor logsumexp(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

/// Sums a broadcast gradient back to `shape` (the inverse of broadcasting:
/// leading dims are summed away, stretched size-1 dims summed with keepdim).
Tensor sum_to(const Tensor& x, const Shape& shape);

/// The keepdim shape of reducing `dims` of `shape` (all dims when empty), and
/// which dims those are (normalised); shared by every reduction.
Shape reduced_shape(const char* op, const Shape& shape, const std::vector<int64_t>& dims,
                    std::vector<bool>* reduced = nullptr);
/// Drops the reduced dims from a keepdim result (a view).
Tensor drop_reduced_dims(const Tensor& keepdim_result, const std::vector<bool>& reduced);
/// Re-inserts reduced dims as size 1 into a non-keepdim gradient so that it
/// broadcasts against the input again.
Tensor restore_reduced_dims(const Tensor& g, const Shape& input_shape, const std::vector<bool>& reduced);

}  // namespace nova::ops
