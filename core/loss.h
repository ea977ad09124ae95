// core/loss.h: loss functions, functional forms (as torch.nn.functional).
// Every loss checks that the target matches the input (shape and dtype, or
// int64 class indices) and reduces its per-element losses per Reduction.
// All are differentiable with respect to their floating inputs, to any order.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace nova::ops {

/// How per-element losses become the result: kept as they are (None), their
/// mean (Mean) or their sum (Sum).
enum class Reduction { None, Mean, Sum };

/// Negative log-likelihood of class targets: loss[n, d...] = -log_probs[n,
/// target[n, d...], d...]. log_probs is [N, C] or [N, C, d...] (or [C] with a
/// 0-d target); target is int64 [N] or [N, d...]. Positions whose target is
/// ignore_index contribute 0, and Mean divides by the number of the others
/// (NaN when all are ignored, as PyTorch). A target outside [0, C) throws.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction = Reduction::Mean,
                int64_t ignore_index = -100);

/// nll_loss(log_softmax(logits, 1), target, ...). With label_smoothing = ls,
/// each non-ignored position's loss is (1 - ls) * nll + ls * mean over the C
/// classes of -log p (PyTorch's definition; Mean divides both parts by the
/// number of non-ignored targets).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction = Reduction::Mean,
                     int64_t ignore_index = -100, double label_smoothing = 0.0);

/// (input - target)^2, same shapes and dtypes.
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

/// 0.5 d^2 where |d| < delta, else delta * (|d| - 0.5 delta), d = input - target.
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean,
                  double delta = 1.0);

/// Binary cross-entropy on logits x with targets t in [0, 1] (same shape):
///   max(x, 0) - x t + log1p(exp(-|x|))  ( = softplus(x) - x t ),
/// stable for any |x|. pos_weight (broadcast against x, usually [C]) weighs
/// the positive term: (1 - t) x + (1 + (pos_weight - 1) t) softplus(-x).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean,
                                        const Tensor& pos_weight = {});

// GAN hinge losses (SN-GAN convention). The discriminator loss is split into
// its real and fake parts because the adaptive-weighting optimizer weighs the
// gradients of the two parts separately.

/// mean(relu(1 - d_real)): the discriminator's loss on real samples.
Tensor hinge_loss_d_real(const Tensor& d_real);
/// mean(relu(1 + d_fake)): the discriminator's loss on generated samples.
Tensor hinge_loss_d_fake(const Tensor& d_fake);
/// hinge_loss_d_real(d_real) + hinge_loss_d_fake(d_fake).
Tensor hinge_loss_d(const Tensor& d_real, const Tensor& d_fake);
/// -mean(d_fake): the generator's loss.
Tensor hinge_loss_g(const Tensor& d_fake);

}  // namespace nova::ops
