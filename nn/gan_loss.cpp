// nn/gan_loss.cpp: the GAN losses and regularisers of nn/gan_loss.h, built
// from nova ops only (softplus, relu, square, mean, norm, autograd::grad), so
// every device that has those ops runs them and autograd differentiates them.
//
// Derivatives the tests rely on (n = number of fake rows, s = sigmoid):
//   minimax G        d/dd_f [-mean softplus(d_f)] = -s(d_f) / n   -> 0 as d_f -> -inf
//   non_saturating G d/dd_f [mean softplus(-d_f)] = -s(-d_f) / n  -> -1/n as d_f -> -inf
// Both push d_f up; only the non-saturating one still pushes when the
// discriminator rejects the fakes with confidence (Goodfellow et al. 2014, 3).
//
// The input-gradient regularisers read per-sample gradients off one
// autograd::grad call: g = d(sum_i f_i)/dx. Row i of g is sum_j df_j/dx_i,
// which equals df_i/dx_i only when f_j does not depend on x_i for j != i, i.e.
// the critic treats samples independently (true for MLPs and convnets without
// batch statistics; false for BatchNorm in training mode or minibatch
// discrimination). The call uses create_graph = true, so g is itself a
// function of the critic's parameters and of x, and the penalty / normalised
// output can be backpropagated (a double backward through the critic).
#include "nn/gan_loss.h"

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/loss.h"
#include "core/reduce.h"
#include "core/views.h"

namespace nova::nn {

namespace {

/// Checks one raw discriminator output: defined, floating, [n] or [n, 1]
/// with n > 0.
void check_scores(const char* op, const Tensor& d, const char* what) {
  check_defined(op, d, what);
  check_floating(op, d);
  bool shaped = d.dim() == 1 || (d.dim() == 2 && d.size(1) == 1);
  NOVA_CHECK(shaped, "{}: {} must be [n] or [n, 1] (one score per sample), got {}", op, what,
             d.shape().str());
  NOVA_CHECK(d.size(0) > 0, "{}: {} is empty ({}); a loss needs at least one sample", op, what,
             d.shape().str());
}

/// Per-sample L2 norm of a [n, ...] tensor: [n].
Tensor row_norms(const Tensor& g) {
  return ops::norm(ops::reshape(g, Shape{g.size(0), -1}), 2.0, {1});
}

/// The input x of f_x = f(x) for gradient_normalize-like ops: checks shapes
/// and returns grad_x sum_i f_i with create_graph (see the header comment).
Tensor input_gradient(const char* op, const Tensor& f_x, const Tensor& x) {
  check_scores(op, f_x, "f_x");
  check_defined(op, x, "x");
  check_floating(op, x);
  check_same_device(op, {&f_x, &x});
  check_same_dtype(op, f_x, x);
  NOVA_CHECK(x.dim() >= 1 && x.size(0) == f_x.size(0),
             "{}: x must be [n, ...] with n = {} rows, one per score of f_x {}, got {}", op,
             f_x.size(0), f_x.shape().str(), x.shape().str());
  NOVA_CHECK(x.numel() > 0, "{}: x {} has no features", op, x.shape().str());
  NOVA_CHECK(x.requires_grad(),
             "{}: x {} does not require grad; call x.requires_grad_() before computing f_x = "
             "D(x)", op, x.shape().str());
  NOVA_CHECK(f_x.requires_grad(),
             "{}: f_x does not require grad, so it cannot depend on x (computed under "
             "NoGradGuard, or not from x?)", op);
  Tensor g = autograd::grad({f_x}, {x}, {ones_like(f_x)}, /*create_graph=*/true,
                            /*allow_unused=*/true)[0];
  NOVA_CHECK(g.defined(), "{}: f_x does not depend on x; pass the x that f_x was computed from",
             op);
  return g;
}

}  // namespace

GanLoss parse_gan_loss(const std::string& name) {
  std::string key = name;
  for (char& c : key)
    if (c == '-') c = '_';
  for (GanLoss kind : {GanLoss::minimax, GanLoss::non_saturating, GanLoss::hinge,
                       GanLoss::least_squares, GanLoss::wasserstein})
    if (key == to_string(kind)) return kind;
  fail("parse_gan_loss: unknown GAN loss '{}'; expected minimax, non_saturating, hinge, "
       "least_squares or wasserstein", name);
}

std::string to_string(GanLoss kind) {
  switch (kind) {
    case GanLoss::minimax: return "minimax";
    case GanLoss::non_saturating: return "non_saturating";
    case GanLoss::hinge: return "hinge";
    case GanLoss::least_squares: return "least_squares";
    case GanLoss::wasserstein: return "wasserstein";
  }
  fail("to_string: invalid GanLoss value {}", static_cast<int>(kind));
}

bool GanObjective::normalizes_output() const {
  return regularizer == GanRegularizer::gradient_normalize ||
         regularizer == GanRegularizer::penalty_gradient_normalize;
}

namespace {

/// The rows of the objective table (nn/gan_loss.h), in its order.
const std::vector<GanObjective>& objective_table() {
  using R = GanRegularizer;
  static const std::vector<GanObjective> table = {
      {"bce", GanLoss::minimax, GanLoss::minimax, R::none},
      {"hinge", GanLoss::hinge, GanLoss::hinge, R::none},
      {"wgan", GanLoss::wasserstein, GanLoss::wasserstein, R::weight_clipping},
      {"wgan-gp", GanLoss::wasserstein, GanLoss::wasserstein, R::gradient_penalty},
      {"gn", GanLoss::minimax, GanLoss::minimax, R::gradient_normalize},
      {"pgn", GanLoss::minimax, GanLoss::minimax, R::penalty_gradient_normalize},
  };
  return table;
}

}  // namespace

const std::vector<std::string>& gan_objective_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const GanObjective& o : objective_table()) out.push_back(o.name);
    return out;
  }();
  return names;
}

GanObjective parse_gan_objective(const std::string& name, const std::string& what) {
  for (const GanObjective& o : objective_table())
    if (o.name == name) return o;
  // "bce, hinge, wgan, wgan-gp, gn or pgn"
  const std::vector<std::string>& names = gan_objective_names();
  std::string valid;
  for (size_t i = 0; i < names.size(); ++i)
    valid += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  fail("{} must be {}, got \"{}\"", what, valid, name);
}

GanObjective with_generator_loss(GanObjective objective, const std::string& g_loss, const std::string& what) {
  const bool bce = objective.d_loss == GanLoss::minimax;
  const bool wasserstein = objective.d_loss == GanLoss::wasserstein;
  if (g_loss == "minimax" && (bce || wasserstein)) {
    // wasserstein: G maximising -mean d_r + mean d_f is minimising -mean d_f,
    // which is already the objective's G loss
    objective.g_loss = bce ? GanLoss::minimax : GanLoss::wasserstein;
    return objective;
  }
  if (g_loss == "ns" && bce) {
    objective.g_loss = GanLoss::non_saturating;
    return objective;
  }
  const char* allowed = bce ? "minimax or ns" : wasserstein ? "minimax (its only one)" : "not chosen (it has one)";
  fail("{}: the generator loss of {} is {}, got \"{}\"", what, objective.name, allowed, g_loss);
}

PgnDenominator parse_pgn_denominator(const std::string& name, const std::string& what) {
  if (name == "ones-minus-gradient") return PgnDenominator::ones_minus_gradient;
  if (name == "gradient") return PgnDenominator::gradient;
  fail("{} must be ones-minus-gradient or gradient, got \"{}\"", what, name);
}

Tensor DiscriminatorLoss::total() const {
  check_defined("DiscriminatorLoss::total", real, "real");
  check_defined("DiscriminatorLoss::total", fake, "fake");
  return real + fake;
}

DiscriminatorLoss discriminator_loss(GanLoss kind, const Tensor& d_real, const Tensor& d_fake) {
  const char* op = "discriminator_loss";
  check_scores(op, d_real, "d_real");
  check_scores(op, d_fake, "d_fake");
  check_same_device(op, {&d_real, &d_fake});
  check_same_dtype(op, d_real, d_fake);
  switch (kind) {
    case GanLoss::minimax:
    case GanLoss::non_saturating:
      // BCE(d_r, 1) = softplus(-d_r) = -log s(d_r); BCE(d_f, 0) = softplus(d_f)
      // = -log(1 - s(d_f)); the softplus kernel is stable for any |x|
      return {ops::mean(ops::softplus(-d_real)), ops::mean(ops::softplus(d_fake))};
    case GanLoss::hinge:
      return {ops::hinge_loss_d_real(d_real), ops::hinge_loss_d_fake(d_fake)};
    case GanLoss::least_squares:
      return {ops::mean(ops::square(d_real - 1.0)) * 0.5, ops::mean(ops::square(d_fake)) * 0.5};
    case GanLoss::wasserstein:
      // the critic maximises mean d_r - mean d_f: minimise the negation
      return {-ops::mean(d_real), ops::mean(d_fake)};
  }
  fail("{}: invalid GanLoss value {}", op, static_cast<int>(kind));
}

Tensor generator_loss(GanLoss kind, const Tensor& d_fake) {
  const char* op = "generator_loss";
  check_scores(op, d_fake, "d_fake");
  switch (kind) {
    case GanLoss::minimax:
      // mean log(1 - s(d_f)) = -mean softplus(d_f): the saturating loss
      return -ops::mean(ops::softplus(d_fake));
    case GanLoss::non_saturating:
      // -mean log s(d_f) = BCE(d_f, 1)
      return ops::mean(ops::softplus(-d_fake));
    case GanLoss::hinge:
      return ops::hinge_loss_g(d_fake);
    case GanLoss::least_squares:
      return ops::mean(ops::square(d_fake - 1.0)) * 0.5;
    case GanLoss::wasserstein:
      return -ops::mean(d_fake);
  }
  fail("{}: invalid GanLoss value {}", op, static_cast<int>(kind));
}

void clip_weights_(const std::vector<Tensor>& params, double c) {
  const char* op = "clip_weights_";
  NOVA_CHECK(c >= 0, "{}: clipping bound c must be >= 0, got {}", op, c);
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    NOVA_CHECK(params[i].defined(), "{}: parameter {} is undefined", op, i);
    check_floating(op, params[i]);
    // copy_ writes into the caller's storage, so views and optimizer state
    // that share the parameter see the clipped values
    Tensor p = params[i];
    p.copy_(ops::clamp(p, -c, c));
  }
}

Tensor gradient_penalty(const std::function<Tensor(const Tensor&)>& critic, const Tensor& real,
                        const Tensor& fake, Generator& gen) {
  const char* op = "gradient_penalty";
  NOVA_CHECK(static_cast<bool>(critic), "{}: critic is empty", op);
  check_defined(op, real, "real");
  check_defined(op, fake, "fake");
  check_floating(op, real);
  check_same_device(op, {&real, &fake});
  check_same_dtype(op, real, fake);
  NOVA_CHECK(real.shape() == fake.shape(), "{}: real {} and fake {} must have the same shape", op,
             real.shape().str(), fake.shape().str());
  NOVA_CHECK(real.dim() >= 1 && real.size(0) > 0 && real.numel() > 0,
             "{}: real and fake must be [n, ...] with n > 0 samples, got {}", op,
             real.shape().str());
  const int64_t n = real.size(0);

  // one u per sample, broadcast over its features: [n, 1, ..., 1]
  Shape u_shape = Shape::filled(real.dim(), 1);
  u_shape[0] = n;
  Tensor u = rand(u_shape, real.dtype(), real.device(), &gen);
  Tensor r = real.detach(), f = fake.detach();
  // computed from detached tensors, x_hat is a fresh leaf
  Tensor x_hat = (r + u * (f - r)).requires_grad_();

  Tensor out = critic(x_hat);
  check_defined(op, out, "critic output");
  bool shaped = (out.dim() == 1 || (out.dim() == 2 && out.size(1) == 1)) && out.size(0) == n;
  NOVA_CHECK(shaped, "{}: the critic must map {} samples to [{}] or [{}, 1] scores, got {}", op,
             n, n, n, out.shape().str());
  NOVA_CHECK(out.requires_grad(),
             "{}: the critic output does not require grad (computed under NoGradGuard, or not "
             "from its input?)", op);
  Tensor g = autograd::grad({out}, {x_hat}, {ones_like(out)}, /*create_graph=*/true,
                            /*allow_unused=*/true)[0];
  NOVA_CHECK(g.defined(), "{}: the critic output does not depend on its input", op);
  return ops::mean(ops::square(row_norms(g) - 1.0));
}

Tensor gradient_normalize(const Tensor& f_x, const Tensor& x) {
  // PGN paper eq. (5): f_hat = f / (||grad_x f|| + zeta(x)), with zeta(x) =
  // |f(x)| as in its Table I (row GN) and the GN-GAN paper
  Tensor g = input_gradient("gradient_normalize", f_x, x);
  Tensor grad_norm = ops::reshape(row_norms(g), f_x.shape());
  return f_x / (grad_norm + ops::abs(f_x));
}

Tensor penalty_gradient_normalize(const Tensor& f_x, const Tensor& x, PgnDenominator denominator) {
  // PGN paper, Algorithm 1 line 1 and Table I (row PGN):
  //   f_hat = (1 - f(x)) / (||1 - grad_x f(x)|| + |1 - f(x)|),
  // 1 - grad_x f taken elementwise, as in the authors' code (the default).
  // Section III prints the same fraction with single bars |1 - grad_x D(x)|,
  // and the parameter gradient eqs. (10)-(14) write ||grad_x (1 - f)||
  // (= ||grad_x f||): PgnDenominator::gradient. Since ||.|| >= 0 the
  // denominator is >= |1 - f|, so |f_hat| <= 1 in both readings.
  Tensor g = input_gradient("penalty_gradient_normalize", f_x, x);
  NOVA_CHECK(denominator == PgnDenominator::ones_minus_gradient || denominator == PgnDenominator::gradient,
             "penalty_gradient_normalize: invalid PgnDenominator value {}", static_cast<int>(denominator));
  Tensor grad_norm = ops::reshape(row_norms(denominator == PgnDenominator::gradient ? g : 1.0 - g), f_x.shape());
  Tensor one_minus_f = 1.0 - f_x;
  return one_minus_f / (grad_norm + ops::abs(one_minus_f));
}

}  // namespace nova::nn
