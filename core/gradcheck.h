// core/gradcheck.h: compare autograd gradients with central finite differences.
//
// For a function f of some float64 inputs, gradcheck forms the scalar
// L = sum(f() * r) with a fixed random r (so every output element counts),
// computes dL/dx by backward, then estimates each element of dL/dx by
// (L(x + h e_i) - L(x - h e_i)) / 2h. An element passes when
// |analytic - numeric| <= atol + rtol * |numeric|. The report names the worst
// element: input, flat index, both values.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nova {

struct GradcheckOptions {
  double eps = 1e-6;   // finite-difference step
  double atol = 1e-5;
  double rtol = 1e-3;
};

struct GradcheckResult {
  bool ok = true;
  std::string report;  // empty when ok; otherwise the worst mismatch
  explicit operator bool() const { return ok; }
};

/// Checks the gradients of fn() with respect to each of `inputs` (float64
/// leaves with requires_grad; fn must read them, not copies). fn may return a
/// tensor of any shape.
GradcheckResult gradcheck(const std::function<Tensor()>& fn, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

/// Second-order check: the gradient of sum(grad_x(fn) * v) with respect to
/// `inputs`, where grad_x is computed with create_graph=true, compared with
/// finite differences of that first-order gradient.
GradcheckResult gradgradcheck(const std::function<Tensor()>& fn, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options = {});

}  // namespace nova
