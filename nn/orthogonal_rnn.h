// nn/orthogonal_rnn.h: recurrent cells with an orthogonal recurrent matrix
// (thesis section 3.1): NC-GRU (eq. 3.53), scoRNN and GORU, built from ops
// (matmul, sigmoid, modrelu, mul, add), so autograd, float64 and CUDA come
// with the ops. NC-GRU's sequence runs as one autograd node with its gate
// math in fused kernels (core/ncgru_recurrence.h, kernels/ncgru_gates.h);
// scoRNN and GORU loop over per-step ops inside one node (run_steps).
//
// Shapes: one step takes x [B, I] and h [B, H] and returns h' [B, H];
// run_sequence takes x [T, B, I] (or [B, T, I] batch-first). Matrices act on
// column vectors as in the papers (W x, U h); with row-major batches the code
// computes x W^T and h U^T. W's are [H, I], U's [H, H].
//
// An orthogonal matrix is an optim::OrthogonalWeight {U, A, D}: U = (I +
// A)^-1 (I - A) D (scaled Cayley), A skew-symmetric, initialised as scoRNN
// does, D diagonal +-1 with the -1 entries last. U and A are registered as
// parameters (so state_dict, to() and zero_grad reach them) and D as a
// buffer. They must NOT be stepped by an ordinary optimizer: give
// orthogonal_weights() to an optim::CayleyOptimizer (whose inner optimizer
// steps the A's) and other_parameters() to the ordinary one: no tensor is in
// both lists, and together they hold every parameter.
//
//   nn::NCGRUCell cell(7, 56, nn::NCGRUOptions().negative_ones(40).orthogonal_reset(true));
//   optim::Adam adam(cell.other_parameters());           // + the read-out layer's
//   std::vector<Tensor> as;  for (auto& w : cell.orthogonal_weights()) as.push_back(w.A);
//   optim::CayleyOptimizer cayley(cell.orthogonal_weights(), std::make_unique<optim::Adam>(as));
//   auto out = nn::run_sequence(cell, batch.inputs);      // out.outputs [T, B, H]
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/random.h"
#include "nn/eunn.h"
#include "nn/module.h"
#include "optim/cayley.h"

namespace nova::nn {

/// The base of the orthogonal cells: one step, split in two so that a
/// sequence projects the inputs of all its steps with one GEMM.
class OrthogonalCell : public Module {
 public:
  OrthogonalCell(std::string name, int64_t input_size, int64_t hidden_size);

  /// The input half of every gate: x [..., I] -> [..., gates * H], the gates'
  /// W x side by side in the order the cell documents (one matmul).
  virtual Tensor project_inputs(const Tensor& x) = 0;
  /// The rest of one step: projected [B, gates * H] (a row of
  /// project_inputs), h [B, H] -> h' [B, H].
  virtual Tensor step(const Tensor& projected, const Tensor& h) = 0;

  /// Every step from h0 [B, H]: projected [T, B, gates * H] (project_inputs
  /// of all steps) -> every h_t [T, B, H], as one autograd node, whose
  /// backward through time costs T steps, not the T^2 that per-step views of
  /// `projected` cost. The default node recomputes each step's graph in its
  /// backward (the cell must outlive that backward); NC-GRU overrides it
  /// with its derivative written out (ops::ncgru_recurrence).
  virtual Tensor run_steps(const Tensor& projected, const Tensor& h0);

  /// One step: x [B, I], h [B, H] -> h' [B, H].
  Tensor forward(const Tensor& x, const Tensor& h);
  using Module::forward;

  /// The orthogonal weights, for a CayleyOptimizer (handles to the cell's
  /// own tensors: a Cayley step changes the cell).
  const std::vector<optim::OrthogonalWeight>& orthogonal_weights() const { return orthogonal_; }
  /// Every parameter but the orthogonal weights' U and A, in parameters()
  /// order: what the ordinary optimizer steps.
  std::vector<Tensor> other_parameters() const;

  int64_t input_size, hidden_size;

 protected:
  /// Registers U (parameter "U<suffix>"), A ("A<suffix>") and D (buffer
  /// "D<suffix>") of a new orthogonal [H, H] weight with `negative_ones`
  /// -1 entries in D, and returns U.
  Tensor add_orthogonal(const std::string& suffix, int64_t negative_ones, DType dtype, Generator* gen);
  /// Registers a parameter [shape] drawn from U(-bound, bound).
  Tensor add_uniform(const std::string& name, const Shape& shape, double bound, DType dtype, Generator* gen);
  /// One step given what it reads besides its arguments (`reads`, in the
  /// order given to loop_node).
  using StepFn = std::function<Tensor(const Tensor& projected, const Tensor& h, const std::vector<Tensor>& reads)>;
  /// run_steps's node: fn over every row block of `projected` from h0, as
  /// one autograd node whose inputs are projected, h0 and `reads` (the
  /// default run_steps: the trainable parameters, with fn = step).
  Tensor loop_node(const Tensor& projected, const Tensor& h0, const std::vector<Tensor>& reads, const StepFn& fn);
  /// fn over every row block of `projected`, recorded as ops (or not, under
  /// NoGradGuard): the hidden states h_1..h_T.
  std::vector<Tensor> step_loop(const Tensor& projected, const Tensor& h0, const std::vector<Tensor>& reads,
                                const StepFn& fn);
  /// Checks x [B, I] / projected [B, gates * H] and h [B, H] for `op`.
  void check_step(const char* op, const Tensor& projected, int64_t gates, const Tensor& h) const;

 private:
  std::vector<optim::OrthogonalWeight> orthogonal_;
};

// ---------------------------------------------------------------- NC-GRU

struct NCGRUOptions {
  /// NC-GRU(U_r, U_c) when true; NC-GRU(U_c), with an ordinary U_r, when
  /// false (the default).
  NCGRUOptions& orthogonal_reset(bool on) { orthogonal_reset_ = on; return *this; }
  /// -1 entries of U_c's D (thesis: 40 for parenthesis, 50 for denoise).
  NCGRUOptions& negative_ones(int64_t n) { negative_ones_ = n; return *this; }
  /// -1 entries of U_r's D when U_r is orthogonal; -1 (the default): the
  /// same count as U_c, so the two D are equal, as in the authors' code,
  /// which passes one D to both. The thesis does not say.
  NCGRUOptions& reset_negative_ones(int64_t n) { reset_negative_ones_ = n; return *this; }
  NCGRUOptions& dtype(DType t) { dtype_ = t; return *this; }
  /// Draws every initial value (the default generator when null).
  NCGRUOptions& generator(Generator* g) { gen_ = g; return *this; }

  bool orthogonal_reset_ = false;
  int64_t negative_ones_ = 0;
  int64_t reset_negative_ones_ = -1;
  DType dtype_ = kFloat32;
  Generator* gen_ = nullptr;
};

/// NC-GRU, exactly eq. (3.53):
///   r  = sigmoid(W_r x + U_r h + b_r)
///   u  = sigmoid(W_u x + U_u h + b_u)
///   c  = modReLU(W_c x + U_c (r * h); b_c)       modReLU(z; b) = sgn(z) relu(|z| + b)
///   h' = (1 - u) * h + u * c
/// The update convention is the thesis's (u weighs the candidate); the
/// authors' code writes h' = u h + (1 - u) c, its mirror (THESIS-NOTES.md),
/// and the reset gate acts on h before U_c, unlike PyTorch's GRU.
/// Parameters: W_r, W_u, W_c [H, I]; U_u [H, H]; U_r [H, H] (with A_r and
/// buffer D_r when orthogonal); U_c, A_c [H, H] and buffer D_c; b_r, b_u [H];
/// b_c [H] (the modReLU bias). Initialisation: W's, U_u, a plain U_r, b_r and
/// b_u from U(-1/sqrt(H), 1/sqrt(H)) as PyTorch's GRU; b_c from U(-0.1, 0.1)
/// (the authors' code); A's as scoRNN (optim::scornn_skew_init).
/// project_inputs lays out [W_r x | W_u x | W_c x].
class NCGRUCell : public OrthogonalCell {
 public:
  NCGRUCell(int64_t input_size, int64_t hidden_size, const NCGRUOptions& options = {});
  Tensor project_inputs(const Tensor& x) override;
  Tensor step(const Tensor& projected, const Tensor& h) override;
  Tensor run_steps(const Tensor& projected, const Tensor& h0) override;
  std::string extra_repr() const override;

  bool orthogonal_reset;
  Tensor W_r, W_u, W_c, U_r, U_u, U_c, b_r, b_u, b_c;
};

// ---------------------------------------------------------------- scoRNN

struct ScoRNNOptions {
  /// -1 entries of D (thesis: 20 for parenthesis, 50 for denoise).
  ScoRNNOptions& negative_ones(int64_t n) { negative_ones_ = n; return *this; }
  ScoRNNOptions& dtype(DType t) { dtype_ = t; return *this; }
  ScoRNNOptions& generator(Generator* g) { gen_ = g; return *this; }

  int64_t negative_ones_ = 0;
  DType dtype_ = kFloat32;
  Generator* gen_ = nullptr;
};

/// scoRNN (Helfrich, Willmott and Ye 2018): a plain RNN with a scaled-Cayley
/// orthogonal U and modReLU,
///   h' = modReLU(W x + U h; b),
/// the bias entering through modReLU as in the scoRNN code (no second bias).
/// Parameters: W [H, I]; U, A [H, H] and buffer D; b [H] (the modReLU
/// bias). W from U(-1/sqrt(H), 1/sqrt(H)), b from U(-0.1, 0.1), A as scoRNN.
/// project_inputs gives W x.
class ScoRNNCell : public OrthogonalCell {
 public:
  ScoRNNCell(int64_t input_size, int64_t hidden_size, const ScoRNNOptions& options = {});
  Tensor project_inputs(const Tensor& x) override;
  Tensor step(const Tensor& projected, const Tensor& h) override;

  Tensor W, U, b;
};

// ---------------------------------------------------------------- GORU

/// How GORU's orthogonal U is made.
enum class GORUOrthogonal {
  eunn_fft,      ///< EUNN, FFT style: ceil(log2 H) layers of rotations (GORU's default; nn/eunn.h)
  eunn_tunable,  ///< EUNN, tunable style: `capacity` layers of rotations
  cayley,        ///< the scaled Cayley transform of a skew A, trained by the CayleyOptimizer as NC-GRU's
};

struct GORUOptions {
  GORUOptions& orthogonal(GORUOrthogonal o) { orthogonal_ = o; return *this; }
  /// Layers of the tunable style (GORU's code: 2; its denoise script: 4).
  GORUOptions& capacity(int64_t n) { capacity_ = n; return *this; }
  /// -1 entries of the Cayley U's D (EUNN has none: its rotations have
  /// determinant 1; 0 keeps that). Cayley only.
  GORUOptions& negative_ones(int64_t n) { negative_ones_ = n; return *this; }
  GORUOptions& dtype(DType t) { dtype_ = t; return *this; }
  GORUOptions& generator(Generator* g) { gen_ = g; return *this; }

  GORUOrthogonal orthogonal_ = GORUOrthogonal::eunn_fft;
  int64_t capacity_ = 2;
  int64_t negative_ones_ = 0;
  DType dtype_ = kFloat32;
  Generator* gen_ = nullptr;
};

/// GORU, the gated orthogonal recurrent unit of Jing et al. 2019 ("Gated
/// Orthogonal Recurrent Units: On Learning to Forget", Neural Computation):
///   r  = sigmoid(W_r x + U_r h + b_r)
///   z  = sigmoid(W_z x + U_z h + b_z)
///   c  = modReLU(W_h x + r * (U h); b_h)
///   h' = z * h + (1 - z) * c                 (GORU's convention: z keeps h)
/// with U orthogonal. As in GORU's code (by default), U is an EUNN: a product
/// of layers of 2x2 Givens rotations whose angles theta an ordinary
/// optimizer trains (nn/eunn.h; FFT style by default, as both of GORU's task
/// scripts run it). EUNN reaches only part of SO(H) (log2 H layers hold H/2
/// log2 H angles) and never a reflection. GORUOrthogonal::cayley swaps in
/// the scaled Cayley transform of a skew A with D (an OrthogonalWeight,
/// trained by the CayleyOptimizer like NC-GRU's), which isolates the gating
/// in a comparison with NC-GRU. The equations and initial values follow
/// GORU's code: W's, U_r, U_z from U(-0.01, 0.01); b_r = 2; b_z from
/// U(-sqrt(3/H), sqrt(3/H)) (TensorFlow's default Glorot-uniform for an [H]
/// variable); b_h = 0.01; theta from U(-pi, pi). (GORU's modReLU adds 1e-3
/// to |z|, a shift of b_h; ours does not.)
/// Parameters: W_r, W_z, W_h [H, I]; U_r, U_z [H, H]; EUNN: theta
/// [num_angles]; Cayley: U, A [H, H] and buffer D; b_r, b_z, b_h [H].
/// project_inputs lays out [W_r x | W_z x | W_h x]. A sequence forms the
/// EUNN matrix once (run_steps), not once per step.
class GORUCell : public OrthogonalCell {
 public:
  GORUCell(int64_t input_size, int64_t hidden_size, const GORUOptions& options = {});
  Tensor project_inputs(const Tensor& x) override;
  Tensor step(const Tensor& projected, const Tensor& h) override;
  Tensor run_steps(const Tensor& projected, const Tensor& h0) override;
  std::string extra_repr() const override;

  /// U: the Cayley parameter, or the EUNN matrix of theta (recorded ops).
  Tensor recurrent_matrix() const;

  GORUOrthogonal orthogonal;
  EunnLayout layout;  // EUNN only
  Tensor W_r, W_z, W_h, U_r, U_z, U, theta, b_r, b_z, b_h;  // U: Cayley only; theta: EUNN only

 private:
  Tensor step_with(const Tensor& projected, const Tensor& h, const Tensor& U_now) const;
};

// ---------------------------------------------------------------- sequences

/// What run_sequence returns.
struct SequenceOutput {
  Tensor outputs;  // every hidden state h_1..h_T: [T, B, H], or [B, T, H] batch-first
  Tensor last;     // h_T [B, H]
};

/// Runs `cell` over x [T, B, I] ([B, T, I] when batch_first) from h0 [B, H]
/// (zeros when undefined): the inputs of all steps are projected at once
/// (project_inputs), then the steps run in order. Throws unless x is 3-D
/// with I = cell.input_size and T >= 1, h0 is [B, H], and both have the
/// cell's dtype and device.
SequenceOutput run_sequence(OrthogonalCell& cell, const Tensor& x, const Tensor& h0 = Tensor(),
                            bool batch_first = false);

}  // namespace nova::nn
