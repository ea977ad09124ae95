// core/gradcheck.cpp: finite-difference gradient checks (see gradcheck.h).
#include "core/gradcheck.h"

#include <cmath>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/reduce.h"

namespace nova {

namespace {

/// Storage offset of flat (row-major) element i of t.
int64_t element_offset(const Tensor& t, int64_t i) {
  int64_t off = t.offset();
  for (int d = t.dim() - 1; d >= 0; --d) {
    off += (i % t.size(d)) * t.strides()[d];
    i /= t.size(d);
  }
  return off;
}

double& element(const Tensor& t, int64_t i) {
  return static_cast<double*>(t.storage()->data())[element_offset(t, i)];
}

void check_inputs(const char* api, const std::vector<Tensor>& inputs) {
  for (size_t k = 0; k < inputs.size(); ++k) {
    NOVA_CHECK(inputs[k].defined() && inputs[k].dtype() == kFloat64 && inputs[k].is_cpu(),
               "{}: input {} must be a float64 CPU tensor (finite differences need double precision)",
               api, k);
    NOVA_CHECK(inputs[k].requires_grad(), "{}: input {} does not require grad", api, k);
  }
}

GradcheckResult compare(const std::function<Tensor()>& scalar_fn, const std::vector<Tensor>& inputs,
                        const std::vector<Tensor>& analytic, const GradcheckOptions& o) {
  GradcheckResult result;
  double worst = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    const Tensor& x = inputs[k];
    const Tensor a = analytic[k].defined() ? analytic[k].contiguous() : Tensor();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double& v = element(x, i);
      const double saved = v;
      // grad mode stays on: fn may itself call autograd::grad (gradient penalties)
      v = saved + o.eps;
      const double plus = scalar_fn().item();
      v = saved - o.eps;
      const double minus = scalar_fn().item();
      v = saved;
      double numeric = (plus - minus) / (2 * o.eps);
      double got = a.defined() ? element(a, i) : 0.0;
      double excess = std::abs(got - numeric) - (o.atol + o.rtol * std::abs(numeric));
      if (!(excess <= 0) && (excess > worst || std::isnan(excess) || result.ok)) {
        worst = std::isnan(excess) ? INFINITY : excess;
        result.ok = false;
        result.report = fmt::format(
            "gradient mismatch at input {} (shape {}), element {}: analytic {:.10g}, numeric "
            "{:.10g} (atol {}, rtol {})",
            k, x.shape().str(), i, got, numeric, o.atol, o.rtol);
      }
    }
  }
  return result;
}

/// A fixed random weighting so that every output element enters the scalar.
Tensor weights_like(const Tensor& y, uint64_t seed) {
  Generator gen(seed);
  return uniform(y.shape(), 0.5, 1.5, y.dtype(), y.device(), &gen);
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor()>& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  check_inputs("gradcheck", inputs);
  Tensor y0 = fn();
  NOVA_CHECK(y0.requires_grad(), "gradcheck: the function's output does not require grad");
  Tensor r = weights_like(y0, 1234);
  auto scalar_fn = [&] { return ops::sum(fn() * r); };
  std::vector<Tensor> analytic =
      autograd::grad({ops::sum(y0 * r)}, inputs, {}, false, /*allow_unused=*/true);
  return compare(scalar_fn, inputs, analytic, options);
}

GradcheckResult gradgradcheck(const std::function<Tensor()>& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
  check_inputs("gradgradcheck", inputs);
  Tensor y0 = fn();
  Tensor r = weights_like(y0, 1234);
  std::vector<Tensor> v;
  for (size_t k = 0; k < inputs.size(); ++k) v.push_back(weights_like(inputs[k], 99 + k));
  // s = sum_k <d sum(f r)/d x_k, v_k>, a scalar whose gradient needs second derivatives
  auto first_order = [&](bool create_graph) {
    Tensor out = fn();
    auto g = autograd::grad({ops::sum(out * r)}, inputs, {}, create_graph, true);
    Tensor s = scalar_tensor(0.0, kFloat64);
    for (size_t k = 0; k < inputs.size(); ++k)
      if (g[k].defined()) s = s + ops::sum(g[k] * v[k]);
    return s;
  };
  Tensor s = first_order(true);
  std::vector<Tensor> analytic;
  if (s.requires_grad()) {
    analytic = autograd::grad({s}, inputs, {}, false, true);
  } else {
    analytic.resize(inputs.size());  // first derivatives are constant: second ones are 0
  }
  auto scalar_fn = [&] { return first_order(false); };
  return compare(scalar_fn, inputs, analytic, options);
}

}  // namespace nova
