// optim/flat_parameters.cpp: flattening parameters into one buffer by
// rebinding each parameter to a range of it (Tensor::set_data), and the
// flat-vector helpers flat_grad and angle_between.
#include "optim/flat_parameters.h"

#include <set>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/reduce.h"
#include "optim/adaptive_weighting.h"

namespace nova::optim {

FlatParameters::FlatParameters(std::vector<Tensor> params) : params_(std::move(params)) {
  const char* op = "FlatParameters";
  NOVA_CHECK(!params_.empty(), "{}: got an empty parameter list", op);
  const Tensor& first = params_[0];
  std::set<const TensorImpl*> seen;
  int64_t total = 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Tensor& p = params_[i];
    NOVA_CHECK(p.defined(), "{}: parameter {} is undefined", op, i);
    NOVA_CHECK(p.is_floating_point(), "{}: parameter {} is {} {}; expected floating", op, i,
               dtype_name(p.dtype()), p.shape().str());
    NOVA_CHECK(p.dtype() == first.dtype(),
               "{}: all parameters need one dtype: parameter 0 is {}, parameter {} is {} {}", op,
               dtype_name(first.dtype()), i, dtype_name(p.dtype()), p.shape().str());
    NOVA_CHECK(p.device() == first.device(),
               "{}: all parameters need one device: parameter 0 on {}, parameter {} on {}", op,
               first.device().str(), i, p.device().str());
    NOVA_CHECK(p.is_leaf(), "{}: parameter {} (shape {}) is not a leaf", op, i, p.shape().str());
    NOVA_CHECK(seen.insert(p.impl()).second, "{}: parameter {} (shape {}) is listed twice", op, i,
               p.shape().str());
    offsets_.push_back(total);
    total += p.numel();
  }

  NoGradGuard no_grad;
  data_ = empty({total}, first.dtype(), first.device());
  grad_ = zeros({total}, first.dtype(), first.device());
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    const int64_t n = p.numel();
    data_.narrow(0, offsets_[i], n).view(p.shape()).copy_(p);
    // rebind: the same TensorImpl (so the module, the optimizer and every
    // other handle follow) now reads its dense range of the flat buffer
    p.set_data(data_.narrow(0, offsets_[i], n).view(p.shape()));
    grad_views_.push_back(grad_.narrow(0, offsets_[i], n).view(p.shape()));
    p.set_grad(grad_views_.back());
  }
  data_.requires_grad_();
  data_.set_grad(grad_);
}

void FlatParameters::zero_grad() {
  NoGradGuard no_grad;
  grad_.zero_();
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].grad().impl() != grad_views_[i].impl()) params_[i].set_grad(grad_views_[i]);
  if (data_.grad().impl() != grad_.impl()) data_.set_grad(grad_);
}

Tensor flat_grad(const Tensor& loss, const std::vector<Tensor>& params) {
  check_defined("flat_grad", loss, "loss");
  NOVA_CHECK(loss.numel() == 1, "flat_grad: loss must be a scalar, got shape {}", loss.shape().str());
  NOVA_CHECK(!params.empty(), "flat_grad: got an empty parameter list");
  std::vector<Tensor> grads = autograd::grad({loss}, params, {}, false, /*allow_unused=*/true);
  std::vector<Tensor> flat;
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor g = grads[i].defined() ? grads[i] : zeros_like(params[i]);
    flat.push_back(g.reshape({params[i].numel()}));
  }
  return ops::cat(flat, 0);
}

double angle_between(const Tensor& a, const Tensor& b) {
  check_defined("angle_between", a, "a");
  check_defined("angle_between", b, "b");
  NOVA_CHECK(a.dim() == 1 && a.shape() == b.shape(),
             "angle_between: expected two flat 1-D vectors of one length, got {} and {}", a.shape().str(),
             b.shape().str());
  NoGradGuard no_grad;
  return angle_degrees(ops::sum(a * b).item(), ops::sum(a * a).item(), ops::sum(b * b).item());
}

}  // namespace nova::optim
