// nn/orthogonal_rnn.cpp: NC-GRU, scoRNN and GORU cells and run_sequence
// (see orthogonal_rnn.h). Every step is ops, so backward through time is
// autograd's; with row-major batches W x is x W^T and U h is h U^T.
#include "nn/orthogonal_rnn.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "nn/init.h"

namespace nova::nn {

namespace {

/// [W_1; W_2; ...] stacked along the output dim, so x [..., I] times its
/// transpose is [..., k * H] = [W_1 x | W_2 x | ...] in one GEMM.
Tensor project(const Tensor& x, const std::vector<Tensor>& weights, int64_t input_size, const char* op) {
  NOVA_CHECK(x.dim() >= 1 && x.size(-1) == input_size, "{}: expected inputs [..., {}], got {}", op, input_size,
             x.shape().str());
  const Tensor w = weights.size() == 1 ? weights[0] : ops::cat(weights, 0);
  return ops::matmul(x, w.t());
}

/// The gate-th block [B, H] of projected [B, gates * H].
Tensor gate(const Tensor& projected, int64_t gate, int64_t H) { return ops::narrow(projected, 1, gate * H, H); }

/// h U^T: U h for each row h.
Tensor times(const Tensor& h, const Tensor& U) { return ops::matmul(h, U.t()); }

}  // namespace

// ---- OrthogonalCell ----

OrthogonalCell::OrthogonalCell(std::string name, int64_t input_size, int64_t hidden_size)
    : Module(std::move(name)), input_size(input_size), hidden_size(hidden_size) {
  NOVA_CHECK(input_size >= 1 && hidden_size >= 1, "{}: sizes must be >= 1, got input_size={}, hidden_size={}",
             this->name(), input_size, hidden_size);
}

Tensor OrthogonalCell::forward(const Tensor& x, const Tensor& h) {
  NOVA_CHECK(x.dim() == 2, "{}: expected x [B, {}], got {}", name(), input_size, x.shape().str());
  return step(project_inputs(x), h);
}

std::vector<Tensor> OrthogonalCell::step_loop(const Tensor& projected, const Tensor& h0,
                                              const std::vector<Tensor>& reads, const StepFn& fn) {
  std::vector<Tensor> states;
  states.reserve(size_t(projected.size(0)));
  Tensor h = h0;
  for (int64_t t = 0; t < projected.size(0); ++t) {
    h = fn(ops::select(projected, 0, t), h, reads);
    states.push_back(h);
  }
  return states;
}

Tensor OrthogonalCell::run_steps(const Tensor& projected, const Tensor& h0) {
  std::vector<Tensor> params;
  for (const Tensor& p : parameters())
    if (p.requires_grad()) params.push_back(p);
  return loop_node(projected, h0, params, [this](const Tensor& p, const Tensor& h, const std::vector<Tensor>&) {
    return step(p, h);
  });
}

// The loop as one node: the forward runs without recording; the backward
// goes from the last step to the first, rebuilding one step's graph at a
// time from its saved input state and differentiating it (as activation
// checkpointing does), so the gradient of `projected` is written row block
// by row block, never as T full-size zero-filled slices. About one extra
// forward of work; the cell must outlive the backward (the node calls fn).
// A read that is not a leaf (GORU's EUNN matrix, made from its angles) is
// given to the rebuilt steps as a detached leaf, so each step's backward
// stops at it and the node hands its summed gradient on, once, to the graph
// that made it.
Tensor OrthogonalCell::loop_node(const Tensor& projected, const Tensor& h0, const std::vector<Tensor>& reads,
                                 const StepFn& fn) {
  std::vector<Tensor> states;
  {
    autograd::NoGradGuard no_grad;
    states = step_loop(projected, h0, reads, fn);
  }
  Tensor out = ops::stack(states, 0);
  std::vector<Tensor> inputs{projected, h0};
  inputs.insert(inputs.end(), reads.begin(), reads.end());
  bool needed = false;
  for (const Tensor& t : inputs) needed = needed || t.requires_grad();
  if (!autograd::is_grad_enabled() || !needed) return out;
  autograd::record("orthogonal_sequence", inputs, out, [this, inputs, states, fn](const autograd::BackwardCtx& c) {
    const int64_t T = inputs[0].size(0);
    const std::vector<Tensor> reads(inputs.begin() + 2, inputs.end());
    if (autograd::is_grad_enabled())  // create_graph: the recorded loop, differentiated
      return autograd::recompute_grads(ops::stack(step_loop(inputs[0], inputs[1], reads, fn), 0), inputs, c.grad);
    std::vector<Tensor> leaves, wanted{Tensor(), Tensor()};  // wanted: the reads to differentiate, by input index
    for (const Tensor& r : reads) {
      leaves.push_back(r.is_leaf() ? r : r.detach().requires_grad_(r.requires_grad()));
      wanted.push_back(r.requires_grad() ? leaves.back() : Tensor());
    }
    autograd::Grads grads(inputs.size());
    std::vector<Tensor> d_projected(static_cast<size_t>(T));
    Tensor dh;  // dL/dh_t from the steps after t
    autograd::GradModeGuard record_steps(true);
    for (int64_t t = T - 1; t >= 0; --t) {
      const Tensor p = ops::select(inputs[0], 0, t).detach().requires_grad_();
      const Tensor h_prev = (t > 0 ? states[size_t(t - 1)] : inputs[1]).detach().requires_grad_();
      const Tensor h = fn(p, h_prev, leaves);
      const Tensor g = dh.defined() ? ops::select(c.grad, 0, t) + dh : ops::select(c.grad, 0, t);
      std::vector<Tensor> wrt{p, h_prev};
      for (size_t i = 2; i < wanted.size(); ++i)
        if (wanted[i].defined()) wrt.push_back(wanted[i]);
      const std::vector<Tensor> step_grads = autograd::grad({h}, wrt, {g}, false, /*allow_unused=*/true);
      d_projected[size_t(t)] = step_grads[0];
      dh = step_grads[1];
      size_t k = 2;
      for (size_t i = 2; i < wanted.size(); ++i) {
        if (!wanted[i].defined()) continue;
        const Tensor& gi = step_grads[k++];
        if (gi.defined()) grads[i] = grads[i].defined() ? grads[i] + gi : gi;
      }
    }
    grads[0] = ops::stack(d_projected, 0);
    grads[1] = dh;
    return grads;
  }, autograd::NodeOptions().saves("projected, h0, what a step reads, per-step states"));
  return out;
}

std::vector<Tensor> OrthogonalCell::other_parameters() const {
  std::vector<Tensor> out;
  for (const Tensor& p : parameters()) {
    const bool orthogonal = std::any_of(orthogonal_.begin(), orthogonal_.end(), [&](const optim::OrthogonalWeight& w) {
      return p.impl() == w.U.impl() || p.impl() == w.A.impl();
    });
    if (!orthogonal) out.push_back(p);
  }
  return out;
}

Tensor OrthogonalCell::add_orthogonal(const std::string& suffix, int64_t negative_ones, DType dtype, Generator* gen) {
  NOVA_CHECK(negative_ones >= 0 && negative_ones <= hidden_size,
             "{}: negative_ones of U{} must be in [0, hidden_size = {}], got {}", name(), suffix, hidden_size,
             negative_ones);
  optim::OrthogonalWeight w = optim::OrthogonalWeight::make(hidden_size, negative_ones, dtype, kCPU, gen);
  // registered handles are the weight's own (leaves are not copied), so a
  // Cayley step on w is a step of this module
  w.U = register_parameter("U" + suffix, w.U);
  w.A = register_parameter("A" + suffix, w.A);
  w.D = register_buffer("D" + suffix, w.D);
  orthogonal_.push_back(w);
  return w.U;
}

Tensor OrthogonalCell::add_uniform(const std::string& name, const Shape& shape, double bound, DType dtype,
                                   Generator* gen) {
  return register_parameter(name, uniform(shape, -bound, bound, dtype, kCPU, gen));
}

void OrthogonalCell::check_step(const char* op, const Tensor& projected, int64_t gates, const Tensor& h) const {
  NOVA_CHECK(projected.dim() == 2 && projected.size(1) == gates * hidden_size,
             "{}: expected projected inputs [B, {}], got {}", op, gates * hidden_size, projected.shape().str());
  NOVA_CHECK(h.defined() && h.dim() == 2 && h.size(0) == projected.size(0) && h.size(1) == hidden_size,
             "{}: expected h [{}, {}], got {}", op, projected.size(0), hidden_size,
             h.defined() ? h.shape().str() : "(undefined)");
}

// ---- NC-GRU ----

NCGRUCell::NCGRUCell(int64_t input_size, int64_t hidden_size, const NCGRUOptions& o)
    : OrthogonalCell("NCGRUCell", input_size, hidden_size), orthogonal_reset(o.orthogonal_reset_) {
  NOVA_CHECK(is_floating(o.dtype_), "NCGRUCell: dtype must be float32 or float64, got {}", dtype_name(o.dtype_));
  const int64_t H = hidden_size, I = input_size;
  const double k = 1.0 / std::sqrt(double(H));
  Generator* g = o.gen_;
  W_r = add_uniform("W_r", {H, I}, k, o.dtype_, g);
  W_u = add_uniform("W_u", {H, I}, k, o.dtype_, g);
  W_c = add_uniform("W_c", {H, I}, k, o.dtype_, g);
  U_u = add_uniform("U_u", {H, H}, k, o.dtype_, g);
  if (orthogonal_reset)
    U_r = add_orthogonal("_r", o.reset_negative_ones_ < 0 ? o.negative_ones_ : o.reset_negative_ones_, o.dtype_, g);
  else
    U_r = add_uniform("U_r", {H, H}, k, o.dtype_, g);
  U_c = add_orthogonal("_c", o.negative_ones_, o.dtype_, g);
  b_r = add_uniform("b_r", {H}, k, o.dtype_, g);
  b_u = add_uniform("b_u", {H}, k, o.dtype_, g);
  b_c = add_uniform("b_c", {H}, 0.1, o.dtype_, g);
}

Tensor NCGRUCell::project_inputs(const Tensor& x) { return project(x, {W_r, W_u, W_c}, input_size, "NCGRUCell"); }

Tensor NCGRUCell::step(const Tensor& projected, const Tensor& h) {
  check_step("NCGRUCell", projected, 3, h);
  const int64_t H = hidden_size;
  // r and u from one matmul, rounded exactly as ops::ncgru_recurrence rounds
  // them, so one step by hand equals a sequence's first step bit for bit
  const Tensor ru = ops::sigmoid(ops::narrow(projected, 1, 0, 2 * H) +
                                 ops::linear(h, ops::cat({U_r, U_u}, 0), ops::cat({b_r, b_u}, 0)));
  const Tensor u = ops::narrow(ru, 1, H, H);
  const Tensor c = ops::modrelu(gate(projected, 2, H) + times(ops::narrow(ru, 1, 0, H) * h, U_c), b_c);
  return (1.0 - u) * h + u * c;
}

Tensor NCGRUCell::run_steps(const Tensor& projected, const Tensor& h0) {
  return ops::ncgru_recurrence(projected, h0, U_r, U_u, U_c, b_r, b_u, b_c);
}

std::string NCGRUCell::extra_repr() const {
  return fmt::format("{}, {}, orthogonal: {}", input_size, hidden_size, orthogonal_reset ? "U_r, U_c" : "U_c");
}

// ---- scoRNN ----

ScoRNNCell::ScoRNNCell(int64_t input_size, int64_t hidden_size, const ScoRNNOptions& o)
    : OrthogonalCell("ScoRNNCell", input_size, hidden_size) {
  NOVA_CHECK(is_floating(o.dtype_), "ScoRNNCell: dtype must be float32 or float64, got {}", dtype_name(o.dtype_));
  W = add_uniform("W", {hidden_size, input_size}, 1.0 / std::sqrt(double(hidden_size)), o.dtype_, o.gen_);
  U = add_orthogonal("", o.negative_ones_, o.dtype_, o.gen_);
  b = add_uniform("b", {hidden_size}, 0.1, o.dtype_, o.gen_);
}

Tensor ScoRNNCell::project_inputs(const Tensor& x) { return project(x, {W}, input_size, "ScoRNNCell"); }

Tensor ScoRNNCell::step(const Tensor& projected, const Tensor& h) {
  check_step("ScoRNNCell", projected, 1, h);
  return ops::modrelu(projected + times(h, U), b);
}

// ---- GORU ----

static const char* goru_orthogonal_name(GORUOrthogonal o) {
  switch (o) {
    case GORUOrthogonal::eunn_fft: return "eunn-fft";
    case GORUOrthogonal::eunn_tunable: return "eunn-tunable";
    case GORUOrthogonal::cayley: return "cayley";
  }
  return "?";
}

GORUCell::GORUCell(int64_t input_size, int64_t hidden_size, const GORUOptions& o)
    : OrthogonalCell("GORUCell", input_size, hidden_size), orthogonal(o.orthogonal_) {
  NOVA_CHECK(is_floating(o.dtype_), "GORUCell: dtype must be float32 or float64, got {}", dtype_name(o.dtype_));
  NOVA_CHECK(o.orthogonal_ == GORUOrthogonal::cayley || o.negative_ones_ == 0,
             "GORUCell: negative_ones ({}) is for the Cayley U; EUNN's rotations have no -1 entries",
             o.negative_ones_);
  const int64_t H = hidden_size, I = input_size;
  Generator* g = o.gen_;
  W_r = add_uniform("W_r", {H, I}, 0.01, o.dtype_, g);
  W_z = add_uniform("W_z", {H, I}, 0.01, o.dtype_, g);
  W_h = add_uniform("W_h", {H, I}, 0.01, o.dtype_, g);
  U_r = add_uniform("U_r", {H, H}, 0.01, o.dtype_, g);
  U_z = add_uniform("U_z", {H, H}, 0.01, o.dtype_, g);
  if (orthogonal == GORUOrthogonal::cayley) {
    U = add_orthogonal("", o.negative_ones_, o.dtype_, g);
  } else {
    layout = orthogonal == GORUOrthogonal::eunn_fft ? EunnLayout::fft(H) : EunnLayout::tunable(H, o.capacity_);
    theta = add_uniform("theta", {layout.num_angles}, M_PI, o.dtype_, g);
  }
  b_r = register_parameter("b_r", full({H}, 2.0, o.dtype_));
  b_z = add_uniform("b_z", {H}, std::sqrt(3.0 / double(H)), o.dtype_, g);
  b_h = register_parameter("b_h", full({H}, 0.01, o.dtype_));
}

std::string GORUCell::extra_repr() const {
  std::string out = fmt::format("{}, {}, U={}", input_size, hidden_size, goru_orthogonal_name(orthogonal));
  if (orthogonal != GORUOrthogonal::cayley) out += fmt::format(" ({} layers, {} angles)", layout.layers(), layout.num_angles);
  return out;
}

Tensor GORUCell::recurrent_matrix() const {
  return orthogonal == GORUOrthogonal::cayley ? U : eunn_matrix(theta, layout);
}

Tensor GORUCell::project_inputs(const Tensor& x) { return project(x, {W_r, W_z, W_h}, input_size, "GORUCell"); }

Tensor GORUCell::step(const Tensor& projected, const Tensor& h) { return step_with(projected, h, recurrent_matrix()); }

Tensor GORUCell::step_with(const Tensor& projected, const Tensor& h, const Tensor& U_now) const {
  check_step("GORUCell", projected, 3, h);
  const int64_t H = hidden_size;
  const Tensor r = ops::sigmoid(gate(projected, 0, H) + times(h, U_r) + b_r);
  const Tensor z = ops::sigmoid(gate(projected, 1, H) + times(h, U_z) + b_z);
  const Tensor c = ops::modrelu(gate(projected, 2, H) + r * times(h, U_now), b_h);
  return z * h + (1.0 - z) * c;
}

// EUNN: the matrix is made once here and read by every step as the loop
// node's last input (a non-leaf: its gradient reaches theta once, through
// the ops that made it); theta itself is not a read of the steps.
Tensor GORUCell::run_steps(const Tensor& projected, const Tensor& h0) {
  if (orthogonal == GORUOrthogonal::cayley) return OrthogonalCell::run_steps(projected, h0);
  std::vector<Tensor> reads;
  for (const Tensor& p : {W_r, W_z, W_h, U_r, U_z, b_r, b_z, b_h})
    if (p.requires_grad()) reads.push_back(p);
  reads.push_back(recurrent_matrix());
  return loop_node(projected, h0, reads, [this](const Tensor& p, const Tensor& h, const std::vector<Tensor>& r) {
    return step_with(p, h, r.back());
  });
}

// ---- sequences ----

SequenceOutput run_sequence(OrthogonalCell& cell, const Tensor& x, const Tensor& h0, bool batch_first) {
  const char* op = "run_sequence";
  NOVA_CHECK(x.dim() == 3 && x.size(2) == cell.input_size, "{}: expected x {} with I = {}, got {}", op,
             batch_first ? "[B, T, I]" : "[T, B, I]", cell.input_size, x.shape().str());
  const Tensor xs = batch_first ? ops::transpose(x, 0, 1) : x;  // [T, B, I]
  const int64_t T = xs.size(0), B = xs.size(1), H = cell.hidden_size;
  NOVA_CHECK(T >= 1 && B >= 1, "{}: need T >= 1 steps and B >= 1 sequences, got x {}", op, x.shape().str());
  const Tensor reference = cell.parameters().front();
  NOVA_CHECK(x.dtype() == reference.dtype() && x.device() == reference.device(),
             "{}: x is {} on {}, the cell is {} on {}", op, dtype_name(x.dtype()), x.device().str(),
             dtype_name(reference.dtype()), reference.device().str());
  Tensor h = h0;
  if (h.defined()) {
    NOVA_CHECK(h.dim() == 2 && h.size(0) == B && h.size(1) == H, "{}: expected h0 [{}, {}], got {}", op, B, H,
               h.shape().str());
    NOVA_CHECK(h.dtype() == x.dtype() && h.device() == x.device(), "{}: h0 is {} on {}, x is {} on {}", op,
               dtype_name(h.dtype()), h.device().str(), dtype_name(x.dtype()), x.device().str());
  } else {
    h = zeros({B, H}, x.dtype(), x.device());
  }
  const Tensor projected = cell.project_inputs(xs);  // [T, B, gates * H], one GEMM for all steps
  const Tensor states = cell.run_steps(projected, h);  // [T, B, H]
  return {batch_first ? ops::transpose(states, 0, 1).contiguous() : states, ops::select(states, 0, T - 1)};
}

}  // namespace nova::nn
