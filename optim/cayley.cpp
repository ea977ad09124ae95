// optim/cayley.cpp: the scaled Cayley transform and Algorithm 4 (see
// optim/cayley.h for the formulas and the choices). Everything is a handful
// of n x n matmuls and one LU inverse per reset, written with ops so the same
// code runs on the CPU and on CUDA (matmul through BLAS/cuBLAS, inverse
// through Eigen/cuSOLVER).
#include "optim/cayley.h"

#include <cmath>
#include <string>
#include <unordered_set>
#include <utility>

#include "core/autograd.h"
#include "core/base/error.h"
#include "core/factory.h"
#include "core/linalg.h"
#include "core/ops.h"

namespace nova::optim {

namespace {

constexpr const char* kLoadOp = "CayleyOptimizer::load_state_dict";

void check_square(const char* op, const char* what, const Tensor& t) {
  NOVA_CHECK(t.defined() && t.dim() == 2 && t.size(0) == t.size(1), "{}: {} must be a square matrix, got {}", op,
             what, t.defined() ? t.shape().str() : std::string("undefined"));
}

Tensor identity_like(const Tensor& a) { return eye(a.size(0), -1, a.dtype(), a.device()); }

/// M diag(D): column j scaled by D[j] (D broadcasts over the rows).
Tensor times_diagonal(const Tensor& m, const Tensor& d) { return ops::mul(m, d); }

Tensor exact_inverse(const Tensor& A) { return ops::inverse(ops::add(identity_like(A), A)); }

/// (I + A)^-1 (I - A) diag(D) from a known inverse.
Tensor cayley_from_inverse(const Tensor& inverse, const Tensor& A, const Tensor& D) {
  return times_diagonal(ops::matmul(inverse, ops::sub(identity_like(A), A)), D);
}

}  // namespace

Tensor cayley_scaling(int64_t n, int64_t negative_ones, DType dtype, Device device) {
  NOVA_CHECK(n >= 1, "cayley_scaling: n must be >= 1, got {}", n);
  NOVA_CHECK(negative_ones >= 0 && negative_ones <= n, "cayley_scaling: negative_ones must be in [0, {}], got {}", n,
             negative_ones);
  std::vector<double> d(size_t(n), 1.0);
  for (int64_t i = n - negative_ones; i < n; ++i) d[size_t(i)] = -1.0;
  return from_vector(d, {n}, dtype, device);
}

Tensor scornn_skew_init(int64_t n, DType dtype, Device device, Generator* gen) {
  NOVA_CHECK(n >= 1, "scornn_skew_init: n must be >= 1, got {}", n);
  // theta is drawn on the CPU in float64 so the same seed gives the same A on
  // every device and dtype.
  const int64_t pairs = n / 2;
  std::vector<double> a(size_t(n * n), 0.0);
  if (pairs > 0) {
    const Tensor theta = uniform({pairs}, 0.0, M_PI / 2, kFloat64, kCPU, gen);
    const double* t = theta.data<double>();
    for (int64_t k = 0; k < pairs; ++k) {
      const int64_t i = 2 * k;
      const double s = -std::tan(t[k] / 2);
      a[size_t(i * n + i + 1)] = s;
      a[size_t((i + 1) * n + i)] = -s;
    }
  }
  return from_vector(a, {n, n}, dtype, device);
}

Tensor scaled_cayley(const Tensor& A, const Tensor& D) {
  autograd::NoGradGuard no_grad;
  check_square("scaled_cayley", "A", A);
  NOVA_CHECK(D.defined() && D.dim() == 1 && D.size(0) == A.size(0), "scaled_cayley: D must be [{}], got {}",
             A.size(0), D.defined() ? D.shape().str() : std::string("undefined"));
  return cayley_from_inverse(exact_inverse(A), A, D);
}

Tensor cayley_skew_gradient(const Tensor& inverse, const Tensor& grad_U, const Tensor& U, const Tensor& D) {
  autograd::NoGradGuard no_grad;
  const char* op = "cayley_skew_gradient";
  check_square(op, "inverse", inverse);
  check_square(op, "grad_U", grad_U);
  check_square(op, "U", U);
  NOVA_CHECK(grad_U.size(0) == inverse.size(0) && U.size(0) == inverse.size(0) && D.dim() == 1 &&
                 D.size(0) == inverse.size(0),
             "{}: inverse {}, grad_U {}, U {} and D {} must share n", op, inverse.shape().str(),
             grad_U.shape().str(), U.shape().str(), D.shape().str());
  // V = inverse^T (grad_U diag(D) + grad_U U^T)
  const Tensor inner = ops::add(times_diagonal(grad_U, D), ops::matmul(grad_U, U.t()));
  const Tensor V = ops::matmul(inverse.t(), inner);
  return ops::sub(V.t(), V);
}

Tensor neumann_inverse_update(const Tensor& inverse, const Tensor& dA, int order) {
  autograd::NoGradGuard no_grad;
  const char* op = "neumann_inverse_update";
  check_square(op, "inverse", inverse);
  check_square(op, "dA", dA);
  NOVA_CHECK(order >= 1 && order <= 8, "{}: order must be in [1, 8], got {}", op, order);
  // Horner form: (I + X (I + X (I + ...))) inverse = inverse + X (inverse + X (...)),
  // order matmuls of X plus one to make X.
  const Tensor X = ops::matmul(inverse, dA);
  Tensor acc = inverse;
  for (int i = 0; i < order; ++i) acc = ops::add(inverse, ops::matmul(X, acc));
  return acc;
}

OrthogonalWeight OrthogonalWeight::make(int64_t n, int64_t negative_ones, DType dtype, Device device,
                                        Generator* gen) {
  OrthogonalWeight w;
  w.A = scornn_skew_init(n, dtype, device, gen).requires_grad_();
  w.D = cayley_scaling(n, negative_ones, dtype, device);
  w.U = scaled_cayley(w.A, w.D).requires_grad_();
  return w;
}

CayleyOptimizer::CayleyOptimizer(std::vector<OrthogonalWeight> weights, std::unique_ptr<Optimizer> inner,
                                 CayleyOptions options)
    : weights_(std::move(weights)), inner_(std::move(inner)), options_(options) {
  const char* op = "CayleyOptimizer";
  NOVA_CHECK(inner_ != nullptr, "{}: needs an inner optimizer for the A matrices", op);
  NOVA_CHECK(!weights_.empty(), "{}: no orthogonal weights given", op);
  NOVA_CHECK(options_.neumann_order >= 0 && options_.neumann_order <= 3,
             "{}: neumann_order must be 0 (exact) or 1..3, got {}", op, options_.neumann_order);
  NOVA_CHECK(options_.reset_every >= 0, "{}: reset_every must be >= 0, got {}", op, options_.reset_every);
  std::unordered_set<const TensorImpl*> own;
  for (size_t i = 0; i < weights_.size(); ++i) {
    const OrthogonalWeight& w = weights_[i];
    check_square(op, "each weight's A", w.A);
    check_square(op, "each weight's U", w.U);
    NOVA_CHECK(w.U.size(0) == w.A.size(0) && w.D.defined() && w.D.dim() == 1 && w.D.size(0) == w.A.size(0),
               "{}: weight {}: A {}, U {} and D {} must share n", op, i, w.A.shape().str(), w.U.shape().str(),
               w.D.defined() ? w.D.shape().str() : std::string("undefined"));
    check_floating(op, w.A);
    check_same_dtype(op, w.A, w.U);
    check_same_dtype(op, w.A, w.D);
    check_same_device(op, {&w.A, &w.U, &w.D});
    NOVA_CHECK(w.U.is_leaf() && w.U.requires_grad(), "{}: weight {}: U must be a leaf that requires grad", op, i);
    NOVA_CHECK(own.insert(w.A.impl()).second, "{}: weight {}'s A is given twice", op, i);
  }
  size_t inner_params = 0;
  for (const ParamGroup& g : inner_->param_groups())
    for (const Tensor& p : g.params) {
      NOVA_CHECK(own.count(p.impl()) == 1,
                 "{}: the inner {} optimizes a {} tensor that is no weight's A; it must hold exactly the A's", op,
                 inner_->name(), p.shape().str());
      ++inner_params;
    }
  NOVA_CHECK(inner_params == weights_.size(), "{}: the inner {} holds {} tensors for {} weights' A", op,
             inner_->name(), inner_params, weights_.size());
  autograd::NoGradGuard no_grad;
  for (const OrthogonalWeight& w : weights_) inverses_.push_back(exact_inverse(w.A));
}

void CayleyOptimizer::step() {
  autograd::NoGradGuard no_grad;
  // Line 4-5: grad_A for every weight that has a U.grad; the inner optimizer
  // steps all A's at once (it skips those left without a grad).
  std::vector<Tensor> before(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i) {
    OrthogonalWeight& w = weights_[i];
    const Tensor g = w.U.grad();
    if (!g.defined()) {
      w.A.set_grad(Tensor());
      continue;
    }
    w.A.set_grad(cayley_skew_gradient(inverses_[i], g, w.U, w.D));
    before[i] = w.A.clone();
  }
  inner_->step();
  ++steps_;
  const bool reset = options_.neumann_order == 0 || (options_.reset_every > 0 && steps_ % options_.reset_every == 0);
  // Lines 6-8: the inverse follows the step taken; U is rewritten in place
  // (the model holds this tensor).
  for (size_t i = 0; i < weights_.size(); ++i) {
    OrthogonalWeight& w = weights_[i];
    if (!before[i].defined()) continue;
    inverses_[i] = reset ? exact_inverse(w.A)
                         : neumann_inverse_update(inverses_[i], ops::sub(before[i], w.A), options_.neumann_order);
    w.U.copy_(cayley_from_inverse(inverses_[i], w.A, w.D));
  }
}

void CayleyOptimizer::zero_grad() {
  for (OrthogonalWeight& w : weights_) w.U.set_grad(Tensor());
}

StateDict CayleyOptimizer::state_dict() const {
  StateDict out;
  out.insert("steps", int64_scalar(steps_));
  for (size_t i = 0; i < inverses_.size(); ++i) out.insert("inverse." + std::to_string(i), inverses_[i]);
  insert_prefixed(&out, "inner", inner_->state_dict());
  return out;
}

void CayleyOptimizer::check_state_dict(const StateDict& state) const {
  std::vector<std::string> known{"steps"};
  NOVA_CHECK(read_int64(state, "steps", kLoadOp) >= 0, "{}: 'steps' must be >= 0", kLoadOp);
  for (size_t i = 0; i < inverses_.size(); ++i) {
    const std::string key = "inverse." + std::to_string(i);
    const Tensor* t = state.find(key);
    NOVA_CHECK(t != nullptr, "{}: missing '{}'", kLoadOp, key);
    NOVA_CHECK(t->shape() == inverses_[i].shape() && t->dtype() == inverses_[i].dtype(),
               "{}: '{}' must be {} {}, got {} {}", kLoadOp, key, dtype_name(inverses_[i].dtype()),
               inverses_[i].shape().str(), dtype_name(t->dtype()), t->shape().str());
    known.push_back(key);
  }
  check_wrapper_state(state, known, *inner_, kLoadOp);
}

void CayleyOptimizer::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  inner_->load_state_dict(sub_state(state, "inner"));
  steps_ = read_int64(state, "steps", kLoadOp);
  for (size_t i = 0; i < inverses_.size(); ++i)
    inverses_[i] = state.at("inverse." + std::to_string(i)).to(inverses_[i].device()).clone();
}

}  // namespace nova::optim
