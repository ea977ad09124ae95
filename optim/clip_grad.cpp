// optim/clip_grad.cpp: gradient clipping by joint norm and by value.
#include "optim/clip_grad.h"

#include <cmath>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/optim.h"

namespace nova::optim {

namespace {
std::vector<Tensor> defined_grads(const std::vector<Tensor>& params) {
  std::vector<Tensor> grads;
  for (const Tensor& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  return grads;
}
}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  NOVA_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be >= 0, got {}", max_norm);
  NOVA_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be > 0 or INFINITY, got {}", norm_type);
  std::vector<Tensor> grads = defined_grads(params);
  const double total = ops::global_norm(grads, norm_type);
  NOVA_CHECK(!error_if_nonfinite || std::isfinite(total),
             "clip_grad_norm_: the total norm of order {} of the gradients is {}; pass "
             "error_if_nonfinite = false to clip anyway", norm_type, total);
  // 1e-6 keeps the factor finite for all-zero grads (PyTorch's constant)
  const double factor = max_norm / (total + 1e-6);
  if (factor < 1.0) {
    NoGradGuard no_grad;
    for (Tensor& g : grads) g.mul_(factor);
  }
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  NOVA_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be >= 0, got {}", clip_value);
  NoGradGuard no_grad;
  for (Tensor& g : defined_grads(params)) g.copy_(ops::clamp(g, -clip_value, clip_value));
}

}  // namespace nova::optim
