// core/loss.cpp: loss functions, all compositions of ops, so their gradients
// (of any order) come from the ops they are made of. nll_loss reads one
// log-probability per target with gather; the only kernel of its own
// (kernels/loss.h) checks the targets, so that a bad label is reported
// with its value and the loss's name rather than as an index error.
//
// Derivative table (g = incoming gradient, shaped like the per-element loss):
//   nll  log_probs: -g scattered to [n, target, d...] (gather's backward),
//        0 at ignored positions
//   cross_entropy, mse, huber, bce_with_logits, hinge: composites, e.g.
//     mse d/dx = 2 (x - t) g;  huber d/dx = g * clamp(x - t, -delta, delta)
//     bce_with_logits d/dx = g * (sigmoid(x) - t)    (no pos_weight)
// Reductions: Mean divides by the element count (nll: by the non-ignored
// targets), Sum adds up, None keeps the per-element losses.
#include "core/loss.h"

#include "core/elementwise.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/reduce.h"
#include "core/softmax.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/loss.h"

namespace nova::ops {

namespace {

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
  // a single sample [C] with a 0-d target is the batch of one [1, C], [1]
  if (log_probs.dim() == 1)
    return squeeze(nll_per_position(op, unsqueeze(log_probs, 0), unsqueeze(target, 0),
                                    ignore_index, valid), 0);
  trace::KernelRun kernel_run("nll_check_targets", {&target}, {});
  switch (target.device().type) {
    case DeviceType::CPU:
      *valid = cpu::nll_check_targets(op, target.contiguous(), log_probs.size(1), ignore_index);
      break;
    case DeviceType::CUDA:
      *valid = cuda::nll_check_targets(op, target.contiguous(), log_probs.size(1), ignore_index);
      break;
  }
  kernel_run.finish();
  // ignored positions read class 0 (any valid index) and are then zeroed by
  // where, not by a product: 0 * -inf would be NaN where log_softmax underflowed
  Tensor keep = ne(target, double(ignore_index));
  Tensor index = unsqueeze(where(keep, target, 0.0), 1);   // [N, 1, d...]
  Tensor picked = squeeze(gather(log_probs, 1, index), 1);  // [N, d...]
  return where(keep, -picked, 0.0);
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
