// core/loss.cpp: loss functions. All but nll_loss are compositions of ops, so
// their gradients (of any order) come from the ops they are made of.
// nll_loss picks one log-probability per target with a CPU kernel pair
// (kernels/cpu/loss.h): "pick" and its adjoint "scatter", each recorded as the
// other's backward, so the pair is differentiable to any order.
//
// Derivative table (g = incoming gradient, shaped like the per-element loss):
//   nll pick     log_probs  scatter(g): -g at [n, target, d...], 0 elsewhere
//   nll scatter  g          pick(gg) (the adjoint of a linear map)
//   cross_entropy, mse, huber, bce_with_logits, hinge: composites, e.g.
//     mse d/dx = 2 (x - t) g;  huber d/dx = g * clamp(x - t, -delta, delta)
//     bce_with_logits d/dx = g * (sigmoid(x) - t)    (no pos_weight)
// Reductions: Mean divides by the element count (nll: by the non-ignored
// targets), Sum adds up, None keeps the per-element losses.
#include "core/loss.h"

#include "core/autograd.h"
#include "core/dispatch.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/reduce.h"
#include "core/softmax.h"
#include "core/views.h"
#include "kernels/cpu/loss.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::record;

namespace {

Tensor nll_scatter(const Tensor& g, const Tensor& target, const Shape& input_shape,
                   int64_t ignore_index);

/// Per-position -log_probs[n, target[n, d], d] of log_probs [N, C, D] and a
/// contiguous, already checked target [N, D].
Tensor nll_pick(const Tensor& log_probs, const Tensor& target, int64_t ignore_index) {
  Tensor out = empty(target.shape(), log_probs.dtype(), log_probs.device());
  Tensor lp = log_probs.detach().contiguous();
  switch (lp.device().type) {
    case DeviceType::CPU: cpu::nll_loss_forward(lp, target, ignore_index, out); break;
    case DeviceType::CUDA: no_cuda_kernel("nll_loss", lp.device());
  }
  if (autograd::any_requires_grad({&log_probs}))
    record("nll_loss", {log_probs}, out,
           [target, shape = log_probs.shape(), ignore_index](const BackwardCtx& c) {
             return Grads{nll_scatter(c.grad, target, shape, ignore_index)};
           });
  return out;
}

/// The adjoint of nll_pick: zeros of input_shape [N, C, D] with -g[n, d] at
/// [n, target[n, d], d].
Tensor nll_scatter(const Tensor& g, const Tensor& target, const Shape& input_shape,
                   int64_t ignore_index) {
  Tensor grad_input = empty(input_shape, g.dtype(), g.device());
  Tensor gc = g.detach().contiguous();
  switch (gc.device().type) {
    case DeviceType::CPU: cpu::nll_loss_backward(gc, target, ignore_index, grad_input); break;
    case DeviceType::CUDA: no_cuda_kernel("nll_loss_backward", gc.device());
  }
  if (autograd::any_requires_grad({&g}))
    record("nll_loss_backward", {g}, grad_input, [target, ignore_index](const BackwardCtx& c) {
      return Grads{nll_pick(c.grad, target, ignore_index)};
    });
  return grad_input;
}

/// Checks a class-index target against input [N, C, d...] (or [C] with a 0-d
/// target): int64, and the input's shape without the class dim.
void check_class_target(const char* op, const Tensor& input, const Tensor& target) {
  check_defined(op, input, "input");
  check_defined(op, target, "target");
  check_floating(op, input);
  check_same_device(op, {&input, &target});
  NOVA_CHECK(input.dim() >= 1, "{}: input must be [N, C] or [N, C, d...], got a 0-d tensor", op);
  NOVA_CHECK(target.dtype() == kInt64, "{}: target must hold int64 class indices, got {} {}", op,
             dtype_name(target.dtype()), target.shape().str());
  Shape expected = input.shape();
  expected.erase(input.dim() == 1 ? 0 : 1);
  NOVA_CHECK(target.shape() == expected,
             "{}: target {} does not match input {} (expected target {})", op,
             target.shape().str(), input.shape().str(), expected.str());
}

/// The unreduced nll of a checked (log_probs, target) pair, shaped like target;
/// *valid receives the number of non-ignored targets.
Tensor nll_per_position(const char* op, const Tensor& log_probs, const Tensor& target,
                        int64_t ignore_index, int64_t* valid) {
  const int64_t C = log_probs.dim() == 1 ? log_probs.size(0) : log_probs.size(1);
  const int64_t N = log_probs.dim() == 1 ? 1 : log_probs.size(0);
  const int64_t D = N * C > 0 ? log_probs.numel() / (N * C) : 0;
  Tensor t = target.contiguous().reshape({N, D});
  switch (t.device().type) {
    case DeviceType::CPU: *valid = cpu::nll_check_targets(op, t, C, ignore_index); break;
    case DeviceType::CUDA: no_cuda_kernel(op, t.device());
  }
  Tensor picked = nll_pick(reshape(log_probs, {N, C, D}), t, ignore_index);
  return reshape(picked, target.shape());
}

/// Mean divides by `count` (not numel) so that nll can leave out ignored targets.
Tensor reduce_loss(const Tensor& loss, Reduction reduction, double count) {
  switch (reduction) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return sum(loss) / count;
  }
  fail("loss: unknown reduction {}", static_cast<int>(reduction));
}

Tensor reduce_loss(const Tensor& loss, Reduction reduction) {
  return reduction == Reduction::Mean ? mean(loss) : reduce_loss(loss, reduction, 1.0);
}

/// Input and target of an elementwise loss: floating, one dtype, one shape.
void check_pair(const char* op, const Tensor& input, const Tensor& target) {
  check_defined(op, input, "input");
  check_defined(op, target, "target");
  check_floating(op, input);
  check_same_device(op, {&input, &target});
  check_same_dtype(op, input, target);
  NOVA_CHECK(input.shape() == target.shape(), "{}: target shape {} does not match input shape {}",
             op, target.shape().str(), input.shape().str());
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction,
                int64_t ignore_index) {
  check_class_target("nll_loss", log_probs, target);
  int64_t valid = 0;
  Tensor loss = nll_per_position("nll_loss", log_probs, target, ignore_index, &valid);
  return reduce_loss(loss, reduction, double(valid));
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, Reduction reduction,
                     int64_t ignore_index, double label_smoothing) {
  const char* op = "cross_entropy";
  check_class_target(op, logits, target);
  NOVA_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0,
             "cross_entropy: label_smoothing must be in [0, 1], got {}", label_smoothing);
  const int64_t class_dim = logits.dim() == 1 ? 0 : 1;
  Tensor log_probs = log_softmax(logits, class_dim);
  int64_t valid = 0;
  Tensor nll = nll_per_position(op, log_probs, target, ignore_index, &valid);
  if (label_smoothing == 0.0) return reduce_loss(nll, reduction, double(valid));
  // the smoothing target puts ls / C on every class: its loss is
  // ls * mean_c(-log p_c); ignored positions count for nothing here either
  const double C = double(logits.size(class_dim));
  Tensor smooth = -sum(log_probs, {class_dim});
  smooth = where(ne(target, double(ignore_index)), smooth, 0.0);
  Tensor loss = nll * (1.0 - label_smoothing) + smooth * (label_smoothing / C);
  return reduce_loss(loss, reduction, double(valid));
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_pair("mse_loss", input, target);
  return reduce_loss(square(input - target), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
  check_pair("huber_loss", input, target);
  NOVA_CHECK(delta > 0.0, "huber_loss: delta must be > 0, got {}", delta);
  Tensor d = input - target;
  Tensor ad = abs(d);
  Tensor loss = where(lt(ad, delta), square(d) * 0.5, (ad - 0.5 * delta) * delta);
  return reduce_loss(loss, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction, const Tensor& pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  check_pair(op, logits, target);
  // softplus(x) = max(x, 0) + log1p(exp(-|x|)), evaluated stably by the
  // softplus kernel; as one op its gradient sigmoid(x) is also right at x = 0,
  // where relu and abs would each contribute their subgradient 0
  if (!pos_weight.defined()) return reduce_loss(softplus(logits) - logits * target, reduction);
  check_same_device(op, {&logits, &pos_weight});
  check_same_dtype(op, logits, pos_weight);
  bool fits = pos_weight.dim() <= logits.dim();
  for (int i = 1; fits && i <= pos_weight.dim(); ++i)
    fits = pos_weight.size(-i) == 1 || pos_weight.size(-i) == logits.size(-i);
  NOVA_CHECK(fits, "{}: pos_weight {} must broadcast to the logits {}", op,
             pos_weight.shape().str(), logits.shape().str());
  // -[pw t log s(x) + (1 - t) log(1 - s(x))] with -log s(x) = softplus(-x)
  // and -log(1 - s(x)) = x + softplus(-x)
  Tensor log_weight = (pos_weight - 1.0) * target + 1.0;
  Tensor loss = (1.0 - target) * logits + log_weight * softplus(-logits);
  return reduce_loss(loss, reduction);
}

Tensor hinge_loss_d_real(const Tensor& d_real) {
  check_defined("hinge_loss_d_real", d_real);
  check_floating("hinge_loss_d_real", d_real);
  return mean(relu(1.0 - d_real));
}

Tensor hinge_loss_d_fake(const Tensor& d_fake) {
  check_defined("hinge_loss_d_fake", d_fake);
  check_floating("hinge_loss_d_fake", d_fake);
  return mean(relu(d_fake + 1.0));
}

Tensor hinge_loss_d(const Tensor& d_real, const Tensor& d_fake) {
  return hinge_loss_d_real(d_real) + hinge_loss_d_fake(d_fake);
}

Tensor hinge_loss_g(const Tensor& d_fake) {
  check_defined("hinge_loss_g", d_fake);
  check_floating("hinge_loss_g", d_fake);
  return -mean(d_fake);
}

}  // namespace nova::ops
