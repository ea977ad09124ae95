// nn/gan_loss.h: GAN losses and the Lipschitz regularisers of the GAN
// literature, as compositions of nova ops (so they run on every device and
// are differentiable to any order).
//
// d_real / d_fake are raw discriminator outputs (logits for minimax and
// non_saturating, critic values otherwise), shaped [n] or [n, 1].
//
//   kind            D loss: real part          + fake part              G loss
//   minimax         mean softplus(-d_r)          mean softplus(d_f)       -mean softplus(d_f)
//   non_saturating  (same D loss as minimax)                              mean softplus(-d_f)
//   hinge           mean relu(1 - d_r)           mean relu(1 + d_f)       -mean d_f
//   least_squares   0.5 mean (d_r - 1)^2         0.5 mean d_f^2           0.5 mean (d_f - 1)^2
//   wasserstein     -mean d_r                    mean d_f                 -mean d_f
//
// softplus(-x) = -log sigmoid(x) = BCE(x, 1) and softplus(x) = -log(1 -
// sigmoid(x)) = BCE(x, 0), so the minimax rows are Goodfellow et al.'s
// log D(x) + log(1 - D(G(z))) written without ever forming sigmoid(x) (finite
// at |x| = 1000). least_squares is LSGAN with a = 0, b = 1, c = 1.
//
// The discriminator loss comes back split (DiscriminatorLoss) because the
// adaptive-weighting optimizer (optim/adaptive_weighting.h) weighs the
// gradients of the real and fake parts separately, and grad_split
// (core/grad_split.h) computes those gradients from one batch: each part is a
// mean over its own rows only, so neither part touches the other's rows.
//
// Regularisers: WGAN weight clipping (clip_weights_), the WGAN-GP gradient
// penalty (gradient_penalty), GN-GAN gradient normalisation
// (gradient_normalize) and PGN-GAN penalty gradient normalisation
// (penalty_gradient_normalize). The last three differentiate the critic with
// respect to its input with create_graph = true, so their results can be
// backpropagated to the critic's parameters (a double backward).
//
// A trainer names a whole objective (D loss, G loss, regulariser) with one
// short word, as the GAN papers do ("wgan-gp"); parse_gan_objective reads
// those words, so every trainer accepts the same names and lists them the
// same way in its --help and errors:
//
//   name     D loss       G loss          regulariser
//   bce      minimax      minimax         none (the unrolled-GAN toy's BCE)
//   hinge    hinge        hinge           none
//   wgan     wasserstein  wasserstein     weight_clipping
//   wgan-gp  wasserstein  wasserstein     gradient_penalty
//   gn       minimax      minimax         gradient_normalize
//   pgn      minimax      minimax         penalty_gradient_normalize
//
// Why bce's generator is the minimax one: the thesis trains its 8-Gaussian
// GAN "with a plain GAN as in" the unrolled-GAN paper (section 2.1.5.3), and
// that paper's code has G maximise D's own BCE loss (THESIS-NOTES.md), not
// minimise the non-saturating -log D(G(z)). with_generator_loss swaps in the
// non-saturating one ("ns") where a trainer asks for it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace nova::nn {

/// The GAN objectives of the table above.
enum class GanLoss { minimax, non_saturating, hinge, least_squares, wasserstein };

/// "minimax", "non_saturating", "hinge", "least_squares" or "wasserstein"
/// ('-' is accepted for '_', e.g. "non-saturating"). Any other name throws
/// nova::Error listing the valid ones.
GanLoss parse_gan_loss(const std::string& name);

/// The name parse_gan_loss reads ("non_saturating", ...).
std::string to_string(GanLoss kind);

/// What keeps the critic in check, besides its loss (the functions below).
enum class GanRegularizer {
  none,
  weight_clipping,            // clip_weights_ after every D step (WGAN)
  gradient_penalty,           // lambda * gradient_penalty added to the D loss (WGAN-GP)
  gradient_normalize,         // D's output is gradient_normalize(D(x), x) (GN-GAN)
  penalty_gradient_normalize  // D's output is penalty_gradient_normalize(D(x), x) (PGN-GAN)
};

/// The two readings of PGN's denominator (penalty_gradient_normalize).
enum class PgnDenominator {
  /// ||1 - grad_x f|| + |1 - f|, 1 a vector of ones: the PGN paper's
  /// Algorithm 1 line 1 and Table I, and the authors' code.
  ones_minus_gradient,
  /// ||grad_x (1 - f)|| + |1 - f| = ||grad_x f|| + |1 - f|: the paper's
  /// gradient derivation, equations (10)-(14).
  gradient
};

/// "ones-minus-gradient" or "gradient" (what a trainer's option reads).
PgnDenominator parse_pgn_denominator(const std::string& name, const std::string& what);

/// A whole GAN objective: a row of the table at the top of this file.
struct GanObjective {
  std::string name;  // "bce", "wgan-gp", ...
  GanLoss d_loss = GanLoss::minimax;
  GanLoss g_loss = GanLoss::minimax;
  GanRegularizer regularizer = GanRegularizer::none;
  /// penalty_gradient_normalize only: which reading of the denominator
  PgnDenominator pgn_denominator = PgnDenominator::ones_minus_gradient;
  /// True for gradient_normalize and penalty_gradient_normalize, whose
  /// discriminator output needs its input gradient (a double backward).
  bool normalizes_output() const;
};

/// The names parse_gan_objective accepts, in the table's order: "bce",
/// "hinge", "wgan", "wgan-gp", "gn", "pgn" (for a trainer's --help).
const std::vector<std::string>& gan_objective_names();

/// The objective called `name` (the table at the top of this file). Any other
/// name throws nova::Error "<what> must be bce, hinge, wgan, wgan-gp, gn or
/// pgn, got "<name>"", so a trainer passes what it was parsing, e.g.
/// "gan_8gaussians: --loss".
GanObjective parse_gan_objective(const std::string& name,
                                 const std::string& what = "parse_gan_objective: name");

/// `objective` with the generator loss called `g_loss`: "minimax" (G
/// maximises D's own loss: -mean softplus(d_f) for the BCE objectives, -mean
/// d_f for wgan and wgan-gp, where it is the only one) or "ns" (the
/// non-saturating mean softplus(-d_f); BCE objectives only). hinge keeps
/// its own G loss (-mean d_f) and accepts neither. Anything else throws
/// nova::Error "<what> ...", naming what is allowed for this objective.
GanObjective with_generator_loss(GanObjective objective, const std::string& g_loss,
                                 const std::string& what = "with_generator_loss: g_loss");

/// The discriminator loss in its two parts, each a 0-d tensor.
struct DiscriminatorLoss {
  Tensor real;  // mean over the real rows only
  Tensor fake;  // mean over the fake rows only
  /// real + fake: what an unweighted discriminator step minimises.
  Tensor total() const;
};

/// The discriminator loss of `kind` (table above), split into its real and
/// fake parts. d_real is [n_r] or [n_r, 1], d_fake [n_f] or [n_f, 1] (n_r and
/// n_f may differ, both > 0), floating, one dtype and device.
DiscriminatorLoss discriminator_loss(GanLoss kind, const Tensor& d_real, const Tensor& d_fake);

/// The generator loss of `kind` (table above), 0-d; d_fake as above. The
/// minimax one is the saturating log(1 - D(G(z))) of the original GAN: its
/// gradient vanishes where the discriminator confidently rejects the fakes
/// (d_fake very negative), which is why non_saturating exists.
Tensor generator_loss(GanLoss kind, const Tensor& d_fake);

/// WGAN weight clipping (Arjovsky et al., Algorithm 1 line 7): every element
/// of every tensor in `params` becomes clamp(w, -c, c), in place (the
/// caller's tensors change; run after the critic's optimizer step). Not
/// recorded by autograd. c must be >= 0.
void clip_weights_(const std::vector<Tensor>& params, double c);

/// WGAN-GP gradient penalty (Gulrajani et al.): mean over the n samples of
/// (||grad_x critic(x_hat_i)||_2 - 1)^2 at x_hat_i = real_i + u_i (fake_i -
/// real_i), one u_i ~ U(0, 1) per sample drawn from `gen` (so a seeded
/// Generator makes it reproducible). The norm is over all of a sample's
/// features (a [n, c, h, w] sample is flattened). Multiply by lambda (10 in
/// the paper) yourself.
///
/// real and fake are [n, ...], same shape, dtype and device, n > 0; they are
/// treated as constants (detached): the penalty is a critic regulariser, and
/// its gradient flows to the critic's parameters only (built with
/// create_graph). critic maps [n, ...] to [n] or [n, 1] and must treat samples
/// independently (no batch statistics), because the per-sample gradients are
/// read off the gradient of sum_i critic(x_hat)_i.
Tensor gradient_penalty(const std::function<Tensor(const Tensor&)>& critic, const Tensor& real,
                        const Tensor& fake, Generator& gen);

/// GN-GAN gradient normalisation (Wu et al.; PGN paper eq. (5) and Table I
/// with zeta(x) = |f(x)|): per sample i,
///   f_hat_i = f_i / (||grad_{x_i} f_i||_2 + |f_i|),
/// so |f_hat_i| < 1 wherever the gradient is non-zero. f_x = f(x) is the
/// critic's output on x ([n] or [n, 1]; the result has the same shape), x is
/// [n, ...] and requires grad (a leaf with requires_grad, or e.g. G(z)).
/// Built with create_graph: differentiable with respect to the critic's
/// parameters and to x. The per-sample gradients are the rows of the gradient
/// of sum_i f_i with respect to x, which is exact only when f_i depends on
/// row i of x alone (no batch statistics, no minibatch features). 0/0 (NaN)
/// where f_i = 0 and its gradient is 0, as in the paper (no epsilon).
Tensor gradient_normalize(const Tensor& f_x, const Tensor& x);

/// PGN-GAN penalty gradient normalisation (Xia): per sample i,
///   f_hat_i = (1 - f_i) / (N_i + |1 - f_i|),  with N_i, by `denominator`:
///   ones_minus_gradient  ||1 - grad_{x_i} f_i||_2, 1 - grad elementwise (1
///                        minus each component): Algorithm 1 line 1, Table I
///                        and the authors' released code (GitHub
///                        sumorday/EDGAN-PyTorch, models/pgradnorm.py:
///                        torch.norm(flatten(1 - grad))). The default.
///   gradient             ||grad_{x_i} (1 - f_i)||_2 = ||grad_{x_i} f_i||_2:
///                        the paper's parameter gradient, eqs. (10)-(14).
/// The difference: for d input features and a small gradient, ||1 - g|| is
/// about sqrt(d) (sqrt(2) for the 8-Gaussian D), so the first reading is
/// close to a fixed rescaling of (1 - f) / (sqrt(d) + |1 - f|), while the
/// second normalises by the gradient as GN does. |f_hat_i| <= 1 either way.
/// Note the sign: f_hat falls as f rises. Same arguments, shapes,
/// create_graph behaviour and per-sample assumption as gradient_normalize.
Tensor penalty_gradient_normalize(const Tensor& f_x, const Tensor& x,
                                  PgnDenominator denominator = PgnDenominator::ones_minus_gradient);

}  // namespace nova::nn
