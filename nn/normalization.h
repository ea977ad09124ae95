// nn/normalization.h: LayerNorm and the batch norms, the modules that own the
// affine parameters (and BatchNorm's running statistics) of the functional
// ops in core/normalization.h.
//   LayerNorm     normalises over the trailing normalized_shape dims of each sample
//   BatchNorm1d   normalises each channel c of x [N, C] or [N, C, L] over the batch
//   BatchNorm2d   the same for images x [N, C, H, W] (over N, H and W)
//   ConditionalBatchNorm2d  BatchNorm2d without its own affine, followed by a
//                 per-sample gain and bias: picked by class label (SN-GAN's
//                 categorical conditional BN) or given (BigGAN's ccbn, where
//                 a linear map of the class embedding and latent makes them)
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

/// What BatchNorm1d and BatchNorm2d share: the parameters, the buffers and
/// the running-statistics update; they differ only in the input ranks they
/// accept.
class BatchNorm : public Module {
 public:
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

 protected:
  /// Parameters weight (ones) and bias (zeros) [C] when affine. Buffers
  /// running_mean (zeros), running_var (ones) [C] and num_batches_tracked
  /// (int64 scalar) when track_running_stats. momentum = nullopt uses the
  /// cumulative average (momentum 1 / num_batches_tracked), as in PyTorch.
  BatchNorm(std::string name, int64_t num_features, double eps, std::optional<double> momentum,
            bool affine, bool track_running_stats);
  /// Throws unless x has a rank this kind accepts and num_features channels.
  virtual void check_input(const Tensor& x) const = 0;
};

class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, double eps = 1e-5,
                       std::optional<double> momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm("BatchNorm1d", num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_input(const Tensor& x) const override;  // [N, C] or [N, C, L]
};

class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5,
                       std::optional<double> momentum = 0.1, bool affine = true,
                       bool track_running_stats = true)
      : BatchNorm("BatchNorm2d", num_features, eps, momentum, affine, track_running_stats) {}

 protected:
  void check_input(const Tensor& x) const override;  // [N, C, H, W]
};

/// y[n, c] = BatchNorm2d(x)[n, c] * gain[n, c] + bias[n, c]: the normalisation
/// has no affine of its own (its running statistics are tracked as usual).
class ConditionalBatchNorm2d : public Module {
 public:
  /// num_classes > 0: parameters gamma (ones) and beta (zeros)
  /// [num_classes, C], the per-class gain and bias that forward(x, labels)
  /// picks, initialised as SN-GAN's categorical conditional BN is (the
  /// identity for every class at the start). num_classes = 0: no parameters;
  /// only forward(x, gain, bias) is available.
  ConditionalBatchNorm2d(int64_t num_features, int64_t num_classes, double eps = 1e-5,
                         std::optional<double> momentum = 0.1);
  // the one-input forward stays visible (it throws: this module needs its
  // gains), so that the overloads below do not hide it
  using Module::forward;
  /// x [N, C, H, W], labels [N] int64/int32 in [0, num_classes).
  Tensor forward(const Tensor& x, const Tensor& labels);
  /// x [N, C, H, W], gain and bias [N, C] (BigGAN passes 1 + its gain).
  Tensor forward(const Tensor& x, const Tensor& gain, const Tensor& bias);
  std::string extra_repr() const override;

  int64_t num_features, num_classes;
  std::shared_ptr<BatchNorm2d> bn;  // child "bn": the running statistics
  Tensor gamma, beta;               // undefined when num_classes = 0
};

}  // namespace nova::nn
