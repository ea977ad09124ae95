// optim/check_finite.cpp: the non-finite checks of check_finite.h.
#include "optim/check_finite.h"

#include <cmath>

#include "core/optim.h"

namespace nova::optim {

namespace {

/// max |x| over the tensors (NaN when any element is NaN): one pass each.
double max_abs(const std::vector<Tensor>& tensors) { return ops::global_norm(tensors, INFINITY); }

const char* kind_of(double v) { return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }

}  // namespace

std::string nonfinite_value(int64_t step, const std::string& name, double value) {
  if (std::isfinite(value)) return "";
  return fmt::format("step {}: {} is {}", step, name, kind_of(value));
}

std::string nonfinite_tensor(int64_t step, const std::string& name, const Tensor& t) {
  const double m = max_abs({t});
  if (std::isfinite(m)) return "";
  return fmt::format("step {}: {} has {}", step, name, kind_of(m));
}

std::string nonfinite_grad(int64_t step, const NamedParameters& params, const std::string& prefix) {
  std::vector<Tensor> grads;
  grads.reserve(params.size());
  for (const auto& [name, p] : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (std::isfinite(max_abs(grads))) return "";  // the usual case: one pass, nothing to name
  for (const auto& [name, p] : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    std::string message = nonfinite_tensor(step, "gradient of " + prefix + name, p.grad());
    if (!message.empty()) return message;
  }
  return "";  // not reached: some gradient made the max non-finite
}

FiniteCheck::FiniteCheck(OnNonFinite action, std::function<void(const std::string&)> warn)
    : action_(action), warn_(std::move(warn)) {}

void FiniteCheck::value(int64_t step, const std::string& name, double v) {
  if (!std::isfinite(v)) found(step, nonfinite_value(step, name, v));
}

void FiniteCheck::grads(int64_t step, const NamedParameters& params, const std::string& prefix) {
  std::string message = nonfinite_grad(step, params, prefix);
  if (!message.empty()) found(step, message);
}

void FiniteCheck::found(int64_t step, const std::string& message) {
  if (action_ == OnNonFinite::stop) throw Error(message);
  if (step == last_bad_step_) return;
  last_bad_step_ = step;
  if (++bad_steps_ == 1 && warn_) warn_(message);
}

}  // namespace nova::optim
