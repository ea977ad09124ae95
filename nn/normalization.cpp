// nn/normalization.cpp: LayerNorm and the batch norms (see normalization.h).
#include "nn/normalization.h"

#include "core/autograd.h"
#include "core/factory.h"
#include "core/elementwise.h"
#include "core/index.h"
#include "core/normalization.h"

namespace nova::nn {

LayerNorm::LayerNorm(const Shape& shape, double eps, bool affine)
    : Module("LayerNorm"), normalized_shape(shape), eps(eps), elementwise_affine(affine) {
  NOVA_CHECK(shape.size() >= 1, "LayerNorm: normalized_shape must have at least one dim, got {}",
             shape.str());
  if (affine) {
    weight = register_parameter("weight", ones(shape));
    bias = register_parameter("bias", zeros(shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  return ops::layer_norm(x, normalized_shape, weight, bias, eps);
}

std::string LayerNorm::extra_repr() const {
  return fmt::format("{}, eps={}, elementwise_affine={}", normalized_shape.str(), eps,
                     elementwise_affine);
}

BatchNorm::BatchNorm(std::string name, int64_t num_features, double eps,
                     std::optional<double> momentum, bool affine, bool track_running_stats)
    : Module(name),
      num_features(num_features),
      eps(eps),
      momentum(momentum),
      affine(affine),
      track_running_stats(track_running_stats) {
  NOVA_CHECK(num_features > 0, "{}: num_features must be > 0, got {}", name, num_features);
  if (affine) {
    weight = register_parameter("weight", ones({num_features}));
    bias = register_parameter("bias", zeros({num_features}));
  }
  if (track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({num_features}));
    running_var = register_buffer("running_var", ones({num_features}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

void BatchNorm1d::check_input(const Tensor& x) const {
  NOVA_CHECK(x.dim() == 2 || x.dim() == 3,
             "BatchNorm1d: expected input [N, {}] or [N, {}, L], got {}", num_features,
             num_features, x.shape().str());
  NOVA_CHECK(x.size(1) == num_features, "BatchNorm1d: expected {} channels (dim 1), got input {}",
             num_features, x.shape().str());
}

void BatchNorm2d::check_input(const Tensor& x) const {
  NOVA_CHECK(x.dim() == 4 && x.size(1) == num_features,
             "BatchNorm2d: expected input [N, {}, H, W], got {}", num_features, x.shape().str());
}

Tensor BatchNorm::forward(const Tensor& x) {
  check_input(x);
  double factor = momentum.value_or(0.0);
  if (is_training() && track_running_stats) {
    NoGradGuard no_grad;
    num_batches_tracked.fill_(num_batches_tracked.item() + 1);
    // no momentum: running stats are the plain average of all batches so far
    if (!momentum) factor = 1.0 / num_batches_tracked.item();
  }
  // eval without tracked statistics falls back to the batch's own
  bool use_batch_stats = is_training() || !track_running_stats;
  return ops::batch_norm(x, running_mean, running_var, weight, bias, use_batch_stats, factor, eps);
}

std::string BatchNorm::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features,
                     eps, momentum ? fmt::format("{}", *momentum) : std::string("none"), affine,
                     track_running_stats);
}

ConditionalBatchNorm2d::ConditionalBatchNorm2d(int64_t num_features, int64_t num_classes,
                                               double eps, std::optional<double> momentum)
    : Module("ConditionalBatchNorm2d"), num_features(num_features), num_classes(num_classes) {
  NOVA_CHECK(num_classes >= 0, "ConditionalBatchNorm2d: num_classes must be >= 0, got {}",
             num_classes);
  bn = register_module("bn", std::make_shared<BatchNorm2d>(num_features, eps, momentum,
                                                           /*affine=*/false));
  if (num_classes > 0) {
    gamma = register_parameter("gamma", ones({num_classes, num_features}));
    beta = register_parameter("beta", zeros({num_classes, num_features}));
  }
}

Tensor ConditionalBatchNorm2d::forward(const Tensor& x, const Tensor& labels) {
  NOVA_CHECK(num_classes > 0,
             "ConditionalBatchNorm2d: built with num_classes = 0, so it has no per-class gain; "
             "call forward(x, gain, bias)");
  NOVA_CHECK(labels.defined() && labels.dim() == 1 && x.dim() >= 1 && labels.size(0) == x.size(0),
             "ConditionalBatchNorm2d: labels must be [N] for input {}, got {}", x.shape().str(),
             labels.defined() ? labels.shape().str() : "an undefined tensor");
  return forward(x, ops::embedding(gamma, labels), ops::embedding(beta, labels));
}

Tensor ConditionalBatchNorm2d::forward(const Tensor& x, const Tensor& gain, const Tensor& bias) {
  NOVA_CHECK(x.dim() == 4 && x.size(1) == num_features,
             "ConditionalBatchNorm2d: expected input [N, {}, H, W], got {}", num_features,
             x.shape().str());
  const Shape per_sample{x.size(0), num_features};
  NOVA_CHECK(gain.defined() && bias.defined() && gain.shape() == per_sample &&
                 bias.shape() == per_sample,
             "ConditionalBatchNorm2d: gain and bias must be {} for input {}, got {} and {}",
             per_sample.str(), x.shape().str(), gain.defined() ? gain.shape().str() : "undefined",
             bias.defined() ? bias.shape().str() : "undefined");
  Tensor y = bn->forward(x);
  const Shape column{x.size(0), num_features, 1, 1};
  return y * gain.reshape(column) + bias.reshape(column);
}

std::string ConditionalBatchNorm2d::extra_repr() const {
  return fmt::format("{}, num_classes={}, eps={}", num_features, num_classes, bn->eps);
}

}  // namespace nova::nn
