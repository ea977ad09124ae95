// core/reduce.h: reductions over all dims or a list of dims, with keepdim.
// An empty dims list means "all dims". Results of float ops keep the input's
// dtype; sums of float32 accumulate in double.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace nova::ops {

Tensor sum(const Tensor& x);
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim = false);

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
