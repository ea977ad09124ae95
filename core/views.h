// core/views.h: ops that change how memory is read without copying it
// (reshape, permute, narrow, expand, ...) and the copying conversions
// (contiguous, clone, to). All are differentiable.
//
// A view shares storage with its input: writing through one (in place, under
// NoGradGuard) is visible through the other, as in PyTorch.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::ops {

/// Same data in a new shape; one dim may be -1 (inferred). A view when the
/// input is contiguous, a copy otherwise.
Tensor reshape(const Tensor& x, const Shape& shape);
/// Like reshape but never copies: throws for a non-contiguous input.
Tensor view(const Tensor& x, const Shape& shape);
/// Merges dims start..end into one.
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
/// Output dim i is input dim dims[i].
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
/// Elements start, start+step, ... (< end) along dim; end is clamped to the size.
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
/// Index `index` of dim, which is removed.
Tensor select(const Tensor& x, int64_t dim, int64_t index);
/// Broadcast to `shape` (size-1 dims stretch, new leading dims are added;
/// -1 keeps a size) with stride 0: no copy.
Tensor expand(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);

Tensor contiguous(const Tensor& x);
Tensor clone(const Tensor& x);
Tensor to_dtype(const Tensor& x, DType dtype);
Tensor to_device(const Tensor& x, Device device);

/// Zeros of `shape` with g written into the slice (dim, start::step): the
/// backward of slice, itself differentiable (its backward is slice).
Tensor slice_backward(const Tensor& g, const Shape& shape, int64_t dim, int64_t start, int64_t step);

}  // namespace nova::ops
