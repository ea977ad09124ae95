// kernels/cuda/index.h: CUDA kernels of the shape/index family: cat, gather and
// index_select (one kernel), scatter_add and index_add (one kernel), one_hot,
// constant pad, flip, and the min/max scan that core uses to check indices.
//
// Every kernel writes a freshly allocated `out` (allocated by core with the
// result shape); scatter_add/index_add first copy `base` into `out`, then
// accumulate into it. Index tensors are int64 or int32 and already checked to
// be in range by core (see index_min_max). Inputs may have any strides.
//
// The same functions, semantics, dtype coverage and error messages as
// kernels/cpu/index.h. Plain C++ (no CUDA headers): implemented in index.cu,
// or in stub.cpp (throwing) in a build without CUDA. One difference: the
// accumulating kernels (scatter_add, index_add) run in parallel with atomic
// adds, so with duplicated indices the float summation order, and so the last
// bits of the result, are not deterministic (integers and bool are exact).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace nova::cuda {

/// Smallest and largest value of an int64/int32 tensor (numel > 0); waits
/// for the device (the result comes back to the host).
std::pair<int64_t, int64_t> index_min_max(const Tensor& index);

/// out = the inputs laid end to end along `dim`. All share a dtype and every
/// size but dim's; out.size(dim) is the sum of theirs.
void cat(const std::vector<Tensor>& inputs, int dim, const Tensor& out);

/// out[..., j, ...] = x[..., index[j], ...] along dim; index is 1-D (or 0-d),
/// out has x's shape with size index.numel() at dim.
void index_select(const Tensor& x, int dim, const Tensor& index, const Tensor& out);

/// out = base, then out[..., index[j], ...] += src[..., j, ...] along dim.
/// Duplicated indices accumulate (atomic adds: order not deterministic).
void index_add(const Tensor& base, int dim, const Tensor& index, const Tensor& src,
               const Tensor& out);

/// out[i_0, .., i_dim, ..] = x[i_0, .., index[i_0, .., i_dim, ..], ..]; out and
/// index share a shape; index has x's ndim and fits inside x off dim.
void gather(const Tensor& x, int dim, const Tensor& index, const Tensor& out);

/// out = base, then out[i_0, .., index[i], ..] += src[i] for every position i
/// of index (src is at least index's size in every dim). Duplicates
/// accumulate (atomic adds: order not deterministic).
void scatter_add(const Tensor& base, int dim, const Tensor& index, const Tensor& src,
                 const Tensor& out);

/// out[..., indices[...]] = 1 in a zero-filled contiguous out of shape
/// [...indices.shape, num_classes].
void one_hot(const Tensor& indices, const Tensor& out);

/// out = value everywhere, then x copied in shifted by before[d] along each
/// dim d (a negative before[d] crops; what does not fit in out is dropped).
void pad(const Tensor& x, const std::vector<int64_t>& before, double value, const Tensor& out);

/// out = x reversed along every dim d with flip_dim[d] set.
void flip(const Tensor& x, const std::vector<bool>& flip_dim, const Tensor& out);

}  // namespace nova::cuda
