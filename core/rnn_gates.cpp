// core/rnn_gates.cpp: checks, dispatch and autograd of gru_gates and
// lstm_gates (the fused per-step gate math of GRU and LSTM).
//
// Derivative table (g = incoming gradient; blocks of H columns; "pre" is the
// gate's argument before its sigmoid / tanh):
//   GRU, g = dL/dh':
//     dn_pre = g (1 - z) (1 - n^2)         -> gi_n, and r dn_pre -> gh_n
//     dz_pre = g (h - n) z (1 - z)         -> gi_z, gh_z
//     dr_pre = dn_pre gh_n r (1 - r)       -> gi_r, gh_r
//     dh     = g z
//   LSTM, gh' = dL/dh', gc' = dL/dc':
//     dc     = gc' + gh' o (1 - tanh(c')^2)   (c' reaches L directly and through h')
//     di_pre = dc g i (1 - i),   df_pre = dc c f (1 - f)
//     dg_pre = dc i (1 - g^2),   do_pre = gh' tanh(c') o (1 - o)
//     d gi = d gh = [di_pre, df_pre, dg_pre, do_pre],  d c = dc f
// Saved: the inputs and the kernel's workspace (GRU: r, z, n, gh_n [B, 4H];
// LSTM: i, f, g, o, tanh(c') [B, 5H]). A plain backward runs one fused
// kernel (kernels/rnn_gates.h) from the workspace; a backward that is itself
// recorded (create_graph) recomputes the gates from the saved inputs with
// ops and writes the table above with ops, so that second derivatives see
// the gates' dependence on the inputs.
//
// gru_gates is row-local for grad_split (row b of h' reads row b of the
// inputs only). lstm_gates is not declared so: its result is [2, B, H]
// (h' and c' in one node, as a node has one output), whose dim 0 is not the
// batch.
#include "core/rnn_gates.h"

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/views.h"
#include "kernels/rnn_gates.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

/// Checks gi, gh [B, k H] and state [B, H] (h for GRU, c for LSTM).
void check_step(const char* op, const Tensor& gi, const Tensor& gh, const Tensor& state, int k,
                const char* state_name) {
  check_defined(op, gi, "gi");
  check_defined(op, gh, "gh");
  check_defined(op, state, state_name);
  check_floating(op, state);
  check_same_dtype(op, gi, state);
  check_same_dtype(op, gh, state);
  check_same_device(op, {&gi, &gh, &state});
  NOVA_CHECK(state.dim() == 2, "{}: {} must be 2-D [B, H], got {}", op, state_name,
             state.shape().str());
  const Shape want{state.size(0), k * state.size(1)};
  NOVA_CHECK(gi.shape() == want, "{}: gi must be [B, {}H] = {} for {} {}, got {}", op, k,
             want.str(), state_name, state.shape().str(), gi.shape().str());
  NOVA_CHECK(gh.shape() == want, "{}: gh must be [B, {}H] = {} for {} {}, got {}", op, k,
             want.str(), state_name, state.shape().str(), gh.shape().str());
}

/// Block `k` (H columns) of a [B, n H] tensor.
Tensor block(const Tensor& t, int64_t k, int64_t H) { return narrow(t, 1, k * H, H); }

/// The GRU backward of the derivative table, with ops (create_graph).
Grads gru_backward_ops(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& g) {
  const int64_t H = h.size(1);
  const Tensor r = sigmoid(block(gi, 0, H) + block(gh, 0, H));
  const Tensor z = sigmoid(block(gi, 1, H) + block(gh, 1, H));
  const Tensor gh_n = block(gh, 2, H);
  const Tensor n = tanh(block(gi, 2, H) + r * gh_n);
  const Tensor dn = g * (1.0 - z) * (1.0 - n * n);
  const Tensor dz = g * (h - n) * z * (1.0 - z);
  const Tensor dr = dn * gh_n * r * (1.0 - r);
  return Grads{cat({dr, dz, dn}, 1), cat({dr, dz, dn * r}, 1), g * z};
}

/// The LSTM backward of the derivative table, with ops (create_graph);
/// grad [2, B, H] holds dL/dh' and dL/dc'.
Grads lstm_backward_ops(const Tensor& gi, const Tensor& gh, const Tensor& c, const Tensor& grad) {
  const int64_t H = c.size(1);
  const Tensor gates = gi + gh;
  const Tensor i = sigmoid(block(gates, 0, H));
  const Tensor f = sigmoid(block(gates, 1, H));
  const Tensor g = tanh(block(gates, 2, H));
  const Tensor o = sigmoid(block(gates, 3, H));
  const Tensor tc = tanh(f * c + i * g);
  const Tensor dh = select(grad, 0, 0);
  const Tensor dc = select(grad, 0, 1) + dh * o * (1.0 - tc * tc);
  const Tensor d_gates = cat({dc * g * i * (1.0 - i), dc * c * f * (1.0 - f),
                              dc * i * (1.0 - g * g), dh * tc * o * (1.0 - o)}, 1);
  return Grads{d_gates, d_gates, dc * f};
}

}  // namespace

Tensor gru_gates(const Tensor& gi_in, const Tensor& gh_in, const Tensor& h_in) {
  check_step("gru_gates", gi_in, gh_in, h_in, 3, "h");
  const Tensor gi = gi_in.contiguous(), gh = gh_in.contiguous(), h = h_in.contiguous();
  const int64_t B = h.size(0), H = h.size(1);
  Tensor h_new = empty({B, H}, h.dtype(), h.device());
  Tensor saved = empty({B, 4 * H}, h.dtype(), h.device());
  switch (h.device().type) {
    case DeviceType::CPU: cpu::gru_gates_forward(gi, gh, h, h_new, saved); break;
    case DeviceType::CUDA: cuda::gru_gates_forward(gi, gh, h, h_new, saved); break;
  }
  if (autograd::any_requires_grad({&gi_in, &gh_in, &h_in})) {
    record("gru_gates", {gi_in, gh_in, h_in}, h_new, [gi, gh, h, saved](const BackwardCtx& c) {
      if (autograd::is_grad_enabled()) return gru_backward_ops(gi, gh, h, c.grad);
      const Tensor g = c.grad.contiguous();
      const int64_t B = h.size(0), H = h.size(1);
      Tensor grad_gi = c.needs(0) ? empty({B, 3 * H}, h.dtype(), h.device()) : Tensor();
      Tensor grad_gh = c.needs(1) ? empty({B, 3 * H}, h.dtype(), h.device()) : Tensor();
      Tensor grad_h = c.needs(2) ? empty({B, H}, h.dtype(), h.device()) : Tensor();
      switch (h.device().type) {
        case DeviceType::CPU: cpu::gru_gates_backward(g, saved, h, grad_gi, grad_gh, grad_h); break;
        case DeviceType::CUDA: cuda::gru_gates_backward(g, saved, h, grad_gi, grad_gh, grad_h); break;
      }
      return Grads{grad_gi, grad_gh, grad_h};
    }, NodeOptions().row_local());
  }
  return h_new;
}

std::pair<Tensor, Tensor> lstm_gates(const Tensor& gi_in, const Tensor& gh_in, const Tensor& c_in) {
  check_step("lstm_gates", gi_in, gh_in, c_in, 4, "c");
  const Tensor gi = gi_in.contiguous(), gh = gh_in.contiguous(), c = c_in.contiguous();
  const int64_t B = c.size(0), H = c.size(1);
  Tensor out = empty({2, B, H}, c.dtype(), c.device());  // (h', c'): a node has one output
  Tensor saved = empty({B, 5 * H}, c.dtype(), c.device());
  switch (c.device().type) {
    case DeviceType::CPU: cpu::lstm_gates_forward(gi, gh, c, out, saved); break;
    case DeviceType::CUDA: cuda::lstm_gates_forward(gi, gh, c, out, saved); break;
  }
  if (autograd::any_requires_grad({&gi_in, &gh_in, &c_in})) {
    record("lstm_gates", {gi_in, gh_in, c_in}, out, [gi, gh, c, saved](const BackwardCtx& ctx) {
      if (autograd::is_grad_enabled()) return lstm_backward_ops(gi, gh, c, ctx.grad);
      const Tensor g = ctx.grad.contiguous();
      const int64_t B = c.size(0), H = c.size(1);
      const bool need_gates = ctx.needs(0) || ctx.needs(1);
      Tensor grad_gates = need_gates ? empty({B, 4 * H}, c.dtype(), c.device()) : Tensor();
      Tensor grad_c = ctx.needs(2) ? empty({B, H}, c.dtype(), c.device()) : Tensor();
      switch (c.device().type) {
        case DeviceType::CPU: cpu::lstm_gates_backward(g, saved, c, grad_gates, grad_c); break;
        case DeviceType::CUDA: cuda::lstm_gates_backward(g, saved, c, grad_gates, grad_c); break;
      }
      // gates = gi + gh: both receive the same gradient (the engine only reads it)
      return Grads{grad_gates, grad_gates, grad_c};
    });
  }
  return {select(out, 0, 0), select(out, 0, 1)};
}

Tensor gru_gates_composed(const Tensor& gi, const Tensor& gh, const Tensor& h) {
  check_step("gru_gates", gi, gh, h, 3, "h");
  const int64_t H = h.size(1);
  const Tensor r = sigmoid(block(gi, 0, H) + block(gh, 0, H));
  const Tensor z = sigmoid(block(gi, 1, H) + block(gh, 1, H));
  const Tensor n = tanh(block(gi, 2, H) + r * block(gh, 2, H));
  return (1.0 - z) * n + z * h;
}

std::pair<Tensor, Tensor> lstm_gates_composed(const Tensor& gi, const Tensor& gh, const Tensor& c) {
  check_step("lstm_gates", gi, gh, c, 4, "c");
  const int64_t H = c.size(1);
  const Tensor gates = gi + gh;
  const Tensor c_new = sigmoid(block(gates, 1, H)) * c +
                       sigmoid(block(gates, 0, H)) * tanh(block(gates, 2, H));
  return {sigmoid(block(gates, 3, H)) * tanh(c_new), c_new};
}

}  // namespace nova::ops
