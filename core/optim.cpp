// core/optim.cpp: checks and dispatch for the optimizer-step ops and the
// optimizer internals dot3/dot6/weighted_sum_ (core/optim.h).
//
// Derivative table: none. These ops update parameters in place between
// backward passes, with grad mode off; they record no node, and a parameter
// that requires grad is refused while grad mode is on (the error says so).
// dot3/dot6 return plain doubles (no graph) and weighted_sum_ writes into a
// tensor outside any graph (gradient buffers).
#include "core/optim.h"

#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/trace.h"
#include "kernels/optim.h"

namespace nova::ops {

namespace {

/// The parameter: floating, contiguous, and not in a graph being recorded.
void check_param(const char* op, const Tensor& param) {
  check_defined(op, param, "param");
  check_floating(op, param);
  NOVA_CHECK(param.is_contiguous(), "{}: param must be contiguous, got shape {} with strides {}",
             op, param.shape().str(), param.strides().str());
  NOVA_CHECK(!(param.requires_grad() && autograd::is_grad_enabled()),
             "{}: in-place update of a param that requires grad (shape {}) with grad mode on; "
             "wrap the step in NoGradGuard (as the optimizers do)", op, param.shape().str());
}

/// A tensor that travels with param (the gradient or a state buffer): same
/// shape, dtype and device, contiguous.
void check_like_param(const char* op, const Tensor& param, const Tensor& t, const char* what) {
  NOVA_CHECK(t.defined(), "{}: {} is undefined (param shape {})", op, what, param.shape().str());
  NOVA_CHECK(t.shape() == param.shape(), "{}: {} has shape {}, param has shape {}", op, what,
             t.shape().str(), param.shape().str());
  NOVA_CHECK(t.dtype() == param.dtype(), "{}: {} is {}, param is {} (shape {})", op, what,
             dtype_name(t.dtype()), dtype_name(param.dtype()), param.shape().str());
  NOVA_CHECK(t.device() == param.device(), "{}: {} on {}, param on {}", op, what,
             t.device().str(), param.device().str());
  NOVA_CHECK(t.is_contiguous(), "{}: {} must be contiguous, got shape {} with strides {}", op,
             what, t.shape().str(), t.strides().str());
}

}  // namespace

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool first_step) {
  const char* op = "sgd_step";
  check_param(op, param);
  check_like_param(op, param, grad, "grad");
  if (momentum != 0) check_like_param(op, param, momentum_buffer, "momentum_buffer");
  NOVA_CHECK(!nesterov || (momentum > 0 && dampening == 0),
             "{}: nesterov needs momentum > 0 and dampening 0, got momentum {} dampening {}", op,
             momentum, dampening);
  // the kernel tells "momentum on" by a defined buffer
  Tensor buffer = momentum != 0 ? momentum_buffer : Tensor();
  dispatch_floating(op, param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    trace::KernelRun kernel_run(op, {&param, &grad}, {&param});
    switch (param.device().type) {
      case DeviceType::CPU:
        cpu::sgd_step<T>(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov,
                         first_step);
        break;
      case DeviceType::CUDA:
        cuda::sgd_step<T>(param, grad, buffer, lr, momentum, dampening, weight_decay, nesterov,
                          first_step);
        break;
    }
    kernel_run.finish();
  });
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, int64_t step, double lr,
               double beta1, double beta2, double eps, double weight_decay, bool decoupled,
               bool amsgrad) {
  const char* op = decoupled ? "adamw_step" : "adam_step";
  check_param(op, param);
  check_like_param(op, param, grad, "grad");
  check_like_param(op, param, exp_avg, "exp_avg");
  check_like_param(op, param, exp_avg_sq, "exp_avg_sq");
  if (amsgrad) check_like_param(op, param, max_exp_avg_sq, "max_exp_avg_sq");
  // beta = 1 with t >= 1 would divide by a zero bias correction
  NOVA_CHECK(step >= 1, "{}: step counts from 1, got {}", op, step);
  NOVA_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
             "{}: betas must lie in [0, 1), got ({}, {})", op, beta1, beta2);
  dispatch_floating(op, param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    trace::KernelRun kernel_run(op, {&param, &grad}, {&param});
    switch (param.device().type) {
      case DeviceType::CPU:
        cpu::adam_step<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2,
                          eps, weight_decay, decoupled, amsgrad);
        break;
      case DeviceType::CUDA:
        cuda::adam_step<T>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2,
                           eps, weight_decay, decoupled, amsgrad);
        break;
    }
    kernel_run.finish();
  });
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& momentum_buffer, const Tensor& grad_avg, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool centered) {
  const char* op = "rmsprop_step";
  check_param(op, param);
  check_like_param(op, param, grad, "grad");
  check_like_param(op, param, square_avg, "square_avg");
  if (momentum > 0) check_like_param(op, param, momentum_buffer, "momentum_buffer");
  if (centered) check_like_param(op, param, grad_avg, "grad_avg");
  dispatch_floating(op, param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    trace::KernelRun kernel_run(op, {&param, &grad}, {&param});
    switch (param.device().type) {
      case DeviceType::CPU:
        cpu::rmsprop_step<T>(param, grad, square_avg, momentum_buffer, grad_avg, lr, alpha, eps,
                             weight_decay, momentum, centered);
        break;
      case DeviceType::CUDA:
        cuda::rmsprop_step<T>(param, grad, square_avg, momentum_buffer, grad_avg, lr, alpha, eps,
                              weight_decay, momentum, centered);
        break;
    }
    kernel_run.finish();
  });
}

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, int64_t step,
                  double lr, double lr_decay, double weight_decay, double eps) {
  const char* op = "adagrad_step";
  check_param(op, param);
  check_like_param(op, param, grad, "grad");
  check_like_param(op, param, state_sum, "state_sum");
  NOVA_CHECK(step >= 1, "{}: step counts from 1, got {}", op, step);
  dispatch_floating(op, param.dtype(), [&](auto tag) {
    using T = decltype(tag);
    trace::KernelRun kernel_run(op, {&param, &grad}, {&param});
    switch (param.device().type) {
      case DeviceType::CPU:
        cpu::adagrad_step<T>(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps);
        break;
      case DeviceType::CUDA:
        cuda::adagrad_step<T>(param, grad, state_sum, step, lr, lr_decay, weight_decay, eps);
        break;
    }
    kernel_run.finish();
  });
}

namespace {

/// The operands of dot3/dot6/weighted_sum_: defined, floating, one dtype,
/// device and shape as `first`.
void check_operand(const char* op, const Tensor& first, const Tensor& t, const char* what) {
  check_defined(op, t, what);
  check_floating(op, t);
  NOVA_CHECK(t.dtype() == first.dtype(), "{}: {} is {} {}, expected {} like the first operand",
             op, what, dtype_name(t.dtype()), t.shape().str(), dtype_name(first.dtype()));
  NOVA_CHECK(t.device() == first.device(), "{}: {} on {}, the first operand on {}", op, what,
             t.device().str(), first.device().str());
  NOVA_CHECK(t.shape() == first.shape(), "{}: {} has shape {}, the first operand has shape {}",
             op, what, t.shape().str(), first.shape().str());
}

Tensor dense(const Tensor& t) { return t.is_contiguous() ? t : t.contiguous(); }

/// Every inner product among xs (2 or 3 tensors), in Dot3/Dot6 order.
void gram(const char* op, std::vector<Tensor> xs, double* out) {
  static const char* names[] = {"a", "b", "c"};
  for (size_t k = 0; k < xs.size(); ++k) {
    check_operand(op, xs[0], xs[k], names[k]);
    xs[k] = dense(xs[k]);
  }
  dispatch_floating(op, xs[0].dtype(), [&](auto tag) {
    using T = decltype(tag);
    trace::KernelRun kernel_run(op, xs, {});
    switch (xs[0].device().type) {
      case DeviceType::CPU: cpu::pair_dots<T>(views_of(xs), out); break;
      case DeviceType::CUDA: cuda::pair_dots<T>(views_of(xs), out); break;
    }
    kernel_run.finish();
  });
}

}  // namespace

Dot3 dot3(const Tensor& a, const Tensor& b) {
  double v[3];
  gram("dot3", {a, b}, v);
  return Dot3{v[0], v[1], v[2]};
}

Dot6 dot6(const Tensor& a, const Tensor& b, const Tensor& c) {
  double v[6];
  gram("dot6", {a, b, c}, v);
  return Dot6{v[0], v[1], v[2], v[3], v[4], v[5]};
}

Tensor weighted_sum_(const Tensor& out, const Tensor& a, double wa, const Tensor& b, double wb,
                     const Tensor& c, double wc) {
  const char* op = "weighted_sum_";
  check_defined(op, out, "out");
  check_floating(op, out);
  NOVA_CHECK(out.is_contiguous(), "{}: out must be contiguous, got shape {} with strides {}", op,
             out.shape().str(), out.strides().str());
  NOVA_CHECK(!(out.requires_grad() && autograd::is_grad_enabled()),
             "{}: out (shape {}) requires grad and grad mode is on; this op is not recorded by "
             "autograd (wrap it in NoGradGuard)", op, out.shape().str());
  check_operand(op, out, a, "a");
  check_operand(op, out, b, "b");
  if (c.defined()) check_operand(op, out, c, "c");
  NOVA_CHECK(std::isfinite(wa) && std::isfinite(wb) && std::isfinite(wc),
             "{}: weights must be finite, got ({}, {}, {})", op, wa, wb, wc);
  Tensor da = dense(a), db = dense(b), dc = c.defined() ? dense(c) : Tensor();
  dispatch_floating(op, out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    trace::KernelRun kernel_run(op, {&da, &db, &dc}, {&out});
    switch (out.device().type) {
      case DeviceType::CPU: cpu::weighted_sum<T>(out, da, wa, db, wb, dc, wc); break;
      case DeviceType::CUDA: cuda::weighted_sum<T>(out, da, wa, db, wb, dc, wc); break;
    }
    kernel_run.finish();
  });
  return out;
}

double global_norm(const std::vector<Tensor>& tensors, double p) {
  const char* op = "global_norm";
  NOVA_CHECK(p > 0, "{}: norm type must be > 0 or INFINITY, got {}", op, p);
  double acc = 0;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const Tensor& t = tensors[k];
    check_defined(op, t, "tensor");
    check_floating(op, t);
    NOVA_CHECK(t.device() == tensors[0].device(), "{}: tensors on different devices ({}, {})", op,
               tensors[0].device().str(), t.device().str());
    double piece = 0;
    dispatch_floating(op, t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      trace::KernelRun kernel_run(op, {&t}, {});
      switch (t.device().type) {
        case DeviceType::CPU: piece = cpu::norm_piece<T>(t, p); break;
        case DeviceType::CUDA: piece = cuda::norm_piece<T>(t, p); break;
      }
      kernel_run.finish();
    });
    if (std::isinf(p)) {
      if (piece > acc || std::isnan(piece)) acc = piece;
    } else {
      acc += piece;
    }
  }
  if (std::isinf(p)) return acc;
  return p == 2 ? std::sqrt(acc) : p == 1 ? acc : std::pow(acc, 1.0 / p);
}

}  // namespace nova::ops
