// core/index.h: ops that join, split, pick and place elements by position:
// cat, stack, split, chunk, index_select, index_add, gather, scatter_add,
// embedding, one_hot, pad, flip. All follow PyTorch's semantics.
//
// Index arguments are int64 or int32 tensors on the input's device; an index
// outside [0, size) throws nova::Error naming the op, the bad value and the
// size of the indexed dim (negative indices are not wrapped, as in PyTorch).
// Every op but one_hot is differentiable, and their backward functions are
// themselves ops of this family (gather <-> scatter_add, index_select <->
// index_add, pad <-> pad, flip <-> flip, cat -> narrow), so second
// derivatives work.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::ops {

/// Concatenates `tensors` along `dim` (negative counts from the end). All
/// must share dtype, device, ndim and every size but dim's.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Joins equally shaped tensors along a new dim `dim` (in [-ndim-1, ndim]).
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

/// Pieces of `split_size` along dim (the last one may be smaller); each is a
/// view of x. Note: split(x, {4}, d) picks this overload (brace-init of an int).
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
/// Pieces of the given sizes along dim; they must sum to x.size(dim).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
/// `chunks` pieces of ceil(size / chunks) along dim, as views; fewer when the
/// size does not need them all (as torch.chunk: chunk of 5 into 4 gives 3).
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

/// Entries index[0], index[1], ... of x along dim: result has x's shape with
/// index.numel() at dim. index is 1-D int64/int32; repeats are allowed.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// Out of place: base with src[..., j, ...] added at base[..., index[j], ...]
/// along dim; repeated indices accumulate. src has base's shape with
/// index.numel() at dim.
Tensor index_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src);

/// out[i][j][k] = x[index[i][j][k]][j][k] for dim 0 (likewise for other dims).
/// index has x's ndim and, off dim, sizes no larger than x's; the result has
/// index's shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// Out of place: base with src[i][j][k] added at [index[i][j][k]][j][k] for
/// dim 0 (likewise for other dims); repeated indices accumulate. index, src and
/// base share ndim; index fits inside src everywhere and inside base off dim.
Tensor scatter_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src);

/// Rows of weight [num, dim] picked by integer `indices` of any shape: the
/// result is [...indices.shape, dim]. The gradient accumulates into the picked
/// rows; row padding_idx gets none (padding_idx < 0: no padding row).
Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx = -1);

/// [...indices.shape, num_classes] with a 1 at each index and 0 elsewhere, of
/// `dtype`. num_classes = -1 infers max(indices) + 1. No gradient.
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1, DType dtype = kInt64);

/// Constant padding, F.pad's convention: pads are (before, after) pairs
/// starting from the LAST dim: {left, right, top, bottom, ...}. A negative pad
/// crops. The gradient is the matching crop of g (pad with the pads negated).
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0);

/// x reversed along each of dims (a copy).
Tensor flip(const Tensor& x, const std::vector<int64_t>& dims);

}  // namespace nova::ops
