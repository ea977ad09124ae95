// nn/normalization.cpp: LayerNorm and BatchNorm1d (see normalization.h).
#include "nn/normalization.h"

#include "core/autograd.h"
#include "core/factory.h"
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

BatchNorm1d::BatchNorm1d(int64_t num_features, double eps, std::optional<double> momentum,
                         bool affine, bool track_running_stats)
    : Module("BatchNorm1d"),
      num_features(num_features),
      eps(eps),
      momentum(momentum),
      affine(affine),
      track_running_stats(track_running_stats) {
  NOVA_CHECK(num_features > 0, "BatchNorm1d: num_features must be > 0, got {}", num_features);
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

Tensor BatchNorm1d::forward(const Tensor& x) {
  NOVA_CHECK(x.dim() == 2 || x.dim() == 3,
             "BatchNorm1d: expected input [N, {}] or [N, {}, L], got {}", num_features,
             num_features, x.shape().str());
  NOVA_CHECK(x.size(1) == num_features, "BatchNorm1d: expected {} channels (dim 1), got input {}",
             num_features, x.shape().str());
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

std::string BatchNorm1d::extra_repr() const {
  return fmt::format("{}, eps={}, momentum={}, affine={}, track_running_stats={}", num_features,
                     eps, momentum ? fmt::format("{}", *momentum) : std::string("none"), affine,
                     track_running_stats);
}

}  // namespace nova::nn
