// core/optim.h: the optimizer-step ops: one fused, in-place update of a
// parameter and its state buffers per call (nova::optim's optimizers are
// built on them; the CUDA backend mirrors each as one launch).
//
// The update rules, exactly as PyTorch's documentation states them, with
// g_t the gradient, theta the parameter, t the step counted from 1,
// gamma = lr, lambda = weight_decay:
//
// sgd_step (mu = momentum, tau = dampening):
//   if lambda != 0: g_t <- g_t + lambda theta_{t-1}
//   if mu != 0:
//     b_t <- g_t                              (first step)
//     b_t <- mu b_{t-1} + (1 - tau) g_t       (later steps)
//     g_t <- g_t + mu b_t   if nesterov,  else g_t <- b_t
//   theta_t <- theta_{t-1} - gamma g_t
//
// adam_step (beta1, beta2, eps):
//   AdamW (decoupled): theta_{t-1} <- theta_{t-1} - gamma lambda theta_{t-1}
//   Adam:              if lambda != 0: g_t <- g_t + lambda theta_{t-1}
//   m_t <- beta1 m_{t-1} + (1 - beta1) g_t
//   v_t <- beta2 v_{t-1} + (1 - beta2) g_t^2
//   m^_t <- m_t / (1 - beta1^t)
//   amsgrad: v_t^max <- max(v_{t-1}^max, v_t);  v^_t <- v_t^max / (1 - beta2^t)
//   else:                                        v^_t <- v_t / (1 - beta2^t)
//   theta_t <- theta_{t-1} - gamma m^_t / (sqrt(v^_t) + eps)
//
// rmsprop_step (alpha, eps, mu = momentum):
//   if lambda != 0: g_t <- g_t + lambda theta_{t-1}
//   v_t <- alpha v_{t-1} + (1 - alpha) g_t^2;   v~_t <- v_t
//   centered: g^ave_t <- alpha g^ave_{t-1} + (1 - alpha) g_t;  v~_t <- v~_t - (g^ave_t)^2
//   if mu > 0: b_t <- mu b_{t-1} + g_t / (sqrt(v~_t) + eps);  theta_t <- theta_{t-1} - gamma b_t
//   else:      theta_t <- theta_{t-1} - gamma g_t / (sqrt(v~_t) + eps)
//   (eps is added outside the square root)
//
// adagrad_step (eta = lr_decay, eps):
//   gamma~ <- gamma / (1 + (t - 1) eta)
//   if lambda != 0: g_t <- g_t + lambda theta_{t-1}
//   state_sum_t <- state_sum_{t-1} + g_t^2
//   theta_t <- theta_{t-1} - gamma~ g_t / (sqrt(state_sum_t) + eps)
//
// All tensors of one call: one shape, one floating dtype, one device, and
// contiguous (the loop is one pass over flat memory). Buffers start at zero
// (Adagrad's state_sum at initial_accumulator_value), except SGD's momentum
// buffer, which first_step overwrites with g_t. Buffers the options do not
// use may be undefined Tensors. The ops are not recorded by autograd: a
// parameter that requires grad may only be updated with grad mode off
// (NoGradGuard), as in every in-place op.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nova::ops {

/// One SGD step on param (in place) and momentum_buffer (used when momentum
/// != 0; written as g_t when first_step).
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool first_step);

/// One Adam step (AdamW when decoupled) on param, exp_avg (m), exp_avg_sq (v)
/// and, with amsgrad, max_exp_avg_sq; step is t >= 1 (after incrementing).
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool amsgrad);

/// One RMSprop step on param and square_avg; momentum_buffer is used when
/// momentum > 0, grad_avg when centered.
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& momentum_buffer, const Tensor& grad_avg, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool centered);

/// One Adagrad step on param and state_sum; step is t >= 1.
void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, int64_t step,
                  double lr, double lr_decay, double weight_decay, double eps);

// ---- optimizer internals: inner products and weighted sums of gradients ----
//
// The adaptive-weighting and self-correcting optimizers (optim/) combine a few
// flat gradient vectors with weights that depend on their inner products.
// dot3/dot6 read the vectors once and return every inner product among them
// (accumulated in double); weighted_sum_ writes the weighted combination in
// one pass. None of them is recorded by autograd (no autograd: the weights are
// plain numbers and the results feed an optimizer step, never a backward).
// Operands: one floating dtype, one device, one shape; a non-contiguous input
// is read through a contiguous copy (the optimizers pass contiguous ones).

/// The three inner products of two vectors.
struct Dot3 {
  double aa = 0, bb = 0, ab = 0;  // <a,a>, <b,b>, <a,b>
};

/// The six inner products of three vectors.
struct Dot6 {
  double aa = 0, bb = 0, cc = 0;  // <a,a>, <b,b>, <c,c>
  double ab = 0, ac = 0, bc = 0;  // <a,b>, <a,c>, <b,c>
};

/// {<a,a>, <b,b>, <a,b>} of two tensors of one shape (usually 1-D flat
/// gradients), in one pass over both, summed in double in a fixed order (the
/// result does not depend on the thread count; on CUDA one fused reduction
/// kernel whose per-block partials are added on the host in block order).
/// Empty tensors give zeros. No autograd. Synchronises with the device.
Dot3 dot3(const Tensor& a, const Tensor& b);

/// The six inner products of three tensors of one shape, in one pass over the
/// three (same accumulation as dot3). No autograd. Synchronises with the device.
Dot6 dot6(const Tensor& a, const Tensor& b, const Tensor& c);

/// out <- wa a + wb b (+ wc c when c is defined), elementwise, in one pass;
/// each element is computed in double and rounded once to out's dtype. out
/// must be contiguous and may be the very same tensor as a, b or c (not a
/// partial overlap). No autograd: out may not require grad while grad mode is
/// on. Returns out.
Tensor weighted_sum_(const Tensor& out, const Tensor& a, double wa, const Tensor& b, double wb,
                     const Tensor& c = Tensor(), double wc = 0.0);

/// The p-norm of all elements of all `tensors` taken as one vector:
/// (sum_k sum_i |x_ki|^p)^(1/p), max_ki |x_ki| for p = INFINITY (0 for no
/// elements). p > 0. Tensors may differ in dtype and strides but share a
/// device; accumulates in double. Not recorded by autograd (it serves
/// gradient clipping; a differentiable norm is built from ops).
double global_norm(const std::vector<Tensor>& tensors, double p = 2.0);

}  // namespace nova::ops
