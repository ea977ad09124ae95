// nn/normalization.h: LayerNorm and BatchNorm1d, the modules that own the
// affine parameters (and BatchNorm's running statistics) of the functional
// ops in core/normalization.h.
//   LayerNorm     normalises over the trailing normalized_shape dims of each sample
//   BatchNorm1d   normalises each channel c of x [N, C] or [N, C, L] over the batch
#pragma once

#include <optional>

#include "nn/module.h"

namespace nova::nn {

class LayerNorm : public Module {
 public:
  /// weight (ones) and bias (zeros) have shape normalized_shape when
  /// elementwise_affine, and are undefined otherwise.
  explicit LayerNorm(const Shape& normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  explicit LayerNorm(int64_t normalized_size, double eps = 1e-5, bool elementwise_affine = true)
      : LayerNorm(Shape{normalized_size}, eps, elementwise_affine) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor weight, bias;
};

class BatchNorm1d : public Module {
 public:
  /// Parameters weight (ones) and bias (zeros) [C] when affine. Buffers
  /// running_mean (zeros), running_var (ones) [C] and num_batches_tracked
  /// (int64 scalar) when track_running_stats. momentum = nullopt uses the
  /// cumulative average (momentum 1 / num_batches_tracked), as in PyTorch.
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5,
                       std::optional<double> momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
  /// Training: normalises with the batch statistics and updates the running
  /// ones. Eval: uses the running statistics (batch ones when not tracked).
  /// Under autograd::RowGroupsGuard (core/grad_split.h) the batch statistics
  /// are per group of rows, so grad_split's fused path can split the batch.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t num_features;
  double eps;
  std::optional<double> momentum;
  bool affine, track_running_stats;
  Tensor weight, bias;
  Tensor running_mean, running_var, num_batches_tracked;
};

}  // namespace nova::nn
