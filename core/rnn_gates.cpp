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
// gru_recurrence / lstm_recurrence (a whole layer's loop as one node) run
// the same kernels step by step; backward through time, per step t from the
// last: the gradient reaching h_t (c_t) is the output's plus what step t+1
// sent back, the fused backward kernel gives step t's gate gradients (written
// into row block t of d gi) and d h_{t-1} = d gh_t W_hh (+ the direct term);
// d W_hh = sum_t d gh_t^T h_{t-1} and d b_hh = sum_t d gh_t are formed once,
// after the loop. Saved: the inputs, the per-step workspaces and the output.
// Under create_graph they recompute themselves as a loop of linear and
// gru_gates / lstm_gates ops and differentiate that with create_graph.
// On the CPU, for H up to cpu::kRnnSequenceMaxHidden, the same forward and
// backward run as one kernel call each (kernels/cpu/rnn_sequence.h: no
// Tensor per step, W_hh kept in cache); same saved layout and results.
//
// On CUDA, layers with a small hidden size run their recurrence in the
// persistent whole-sequence kernels (kernels/cuda/rnn_sequence.h: one launch
// for all T steps forward, one for the backward, W_hh in shared memory); the
// same saved workspaces and the same derivative table, so only the loop
// moves into the kernel. NOVA_RNN_PERSISTENT=0 in the environment forces the
// per-step path (for comparisons and parity tests).
//
// gru_gates is row-local for grad_split (row b of h' reads row b of the
// inputs only). lstm_gates is not declared so: its result is [2, B, H]
// (h' and c' in one node, as a node has one output), whose dim 0 is not the
// batch.
#include "core/rnn_gates.h"

#include <cstdlib>
#include <cstring>
#include <tuple>
#include <vector>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/matmul.h"
#include "core/segment.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/cpu/rnn_sequence.h"
#include "kernels/cuda/rnn_sequence.h"
#include "kernels/rnn_gates.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;
using autograd::recompute_grads;

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
  trace::KernelRun kernel_run("gru_gates", {&gi, &gh, &h}, {&h_new, &saved});
  switch (h.device().type) {
    case DeviceType::CPU: cpu::gru_gates_forward(gi, gh, h, h_new, saved); break;
    case DeviceType::CUDA: cuda::gru_gates_forward(gi, gh, h, h_new, saved); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&gi_in, &gh_in, &h_in})) {
    record("gru_gates", {gi_in, gh_in, h_in}, h_new, [gi, gh, h, saved](const BackwardCtx& c) {
      if (autograd::is_grad_enabled()) return gru_backward_ops(gi, gh, h, c.grad);
      const Tensor g = c.grad.contiguous();
      const int64_t B = h.size(0), H = h.size(1);
      Tensor grad_gi = c.needs(0) ? empty({B, 3 * H}, h.dtype(), h.device()) : Tensor();
      Tensor grad_gh = c.needs(1) ? empty({B, 3 * H}, h.dtype(), h.device()) : Tensor();
      Tensor grad_h = c.needs(2) ? empty({B, H}, h.dtype(), h.device()) : Tensor();
      trace::KernelRun kernel_run("gru_gates_backward", {&g, &saved, &h}, {&grad_gi, &grad_gh, &grad_h});
      switch (h.device().type) {
        case DeviceType::CPU: cpu::gru_gates_backward(g, saved, h, grad_gi, grad_gh, grad_h); break;
        case DeviceType::CUDA: cuda::gru_gates_backward(g, saved, h, grad_gi, grad_gh, grad_h); break;
      }
      kernel_run.finish();
      return Grads{grad_gi, grad_gh, grad_h};
    }, NodeOptions().row_local().saves("gi, gh, h, gates"));
  }
  return h_new;
}

std::pair<Tensor, Tensor> lstm_gates(const Tensor& gi_in, const Tensor& gh_in, const Tensor& c_in) {
  check_step("lstm_gates", gi_in, gh_in, c_in, 4, "c");
  const Tensor gi = gi_in.contiguous(), gh = gh_in.contiguous(), c = c_in.contiguous();
  const int64_t B = c.size(0), H = c.size(1);
  Tensor out = empty({2, B, H}, c.dtype(), c.device());  // (h', c'): a node has one output
  Tensor saved = empty({B, 5 * H}, c.dtype(), c.device());
  trace::KernelRun kernel_run("lstm_gates", {&gi, &gh, &c}, {&out, &saved});
  switch (c.device().type) {
    case DeviceType::CPU: cpu::lstm_gates_forward(gi, gh, c, out, saved); break;
    case DeviceType::CUDA: cuda::lstm_gates_forward(gi, gh, c, out, saved); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&gi_in, &gh_in, &c_in})) {
    record("lstm_gates", {gi_in, gh_in, c_in}, out, [gi, gh, c, saved](const BackwardCtx& ctx) {
      if (autograd::is_grad_enabled()) return lstm_backward_ops(gi, gh, c, ctx.grad);
      const Tensor g = ctx.grad.contiguous();
      const int64_t B = c.size(0), H = c.size(1);
      const bool need_gates = ctx.needs(0) || ctx.needs(1);
      Tensor grad_gates = need_gates ? empty({B, 4 * H}, c.dtype(), c.device()) : Tensor();
      Tensor grad_c = ctx.needs(2) ? empty({B, H}, c.dtype(), c.device()) : Tensor();
      trace::KernelRun kernel_run("lstm_gates_backward", {&g, &saved, &c}, {&grad_gates, &grad_c});
      switch (c.device().type) {
        case DeviceType::CPU: cpu::lstm_gates_backward(g, saved, c, grad_gates, grad_c); break;
        case DeviceType::CUDA: cuda::lstm_gates_backward(g, saved, c, grad_gates, grad_c); break;
      }
      kernel_run.finish();
      // gates = gi + gh: both receive the same gradient (the engine only reads it)
      return Grads{grad_gates, grad_gates, grad_c};
    }, NodeOptions().saves("gi, gh, c, gates"));
  }
  return {select(out, 0, 0), select(out, 0, 1)};
}

namespace {

// ---- one kernel call on the tensors' device ----

void gru_forward_on(const Tensor& gi, const Tensor& gh, const Tensor& h, const Tensor& h_new,
                    const Tensor& saved) {
  trace::KernelRun kernel_run("gru_gates", {&gi, &gh, &h}, {&h_new, &saved});
  switch (h.device().type) {
    case DeviceType::CPU: cpu::gru_gates_forward(gi, gh, h, h_new, saved); break;
    case DeviceType::CUDA: cuda::gru_gates_forward(gi, gh, h, h_new, saved); break;
  }
  kernel_run.finish();
}

void gru_backward_on(const Tensor& g, const Tensor& saved, const Tensor& h, const Tensor& grad_gi,
                     const Tensor& grad_gh, const Tensor& grad_h) {
  trace::KernelRun kernel_run("gru_gates_backward", {&g, &saved, &h}, {&grad_gi, &grad_gh, &grad_h});
  switch (h.device().type) {
    case DeviceType::CPU: cpu::gru_gates_backward(g, saved, h, grad_gi, grad_gh, grad_h); break;
    case DeviceType::CUDA: cuda::gru_gates_backward(g, saved, h, grad_gi, grad_gh, grad_h); break;
  }
  kernel_run.finish();
}

void lstm_forward_on(const Tensor& gi, const Tensor& gh, const Tensor& c, const Tensor& out,
                     const Tensor& saved) {
  trace::KernelRun kernel_run("lstm_gates", {&gi, &gh, &c}, {&out, &saved});
  switch (c.device().type) {
    case DeviceType::CPU: cpu::lstm_gates_forward(gi, gh, c, out, saved); break;
    case DeviceType::CUDA: cuda::lstm_gates_forward(gi, gh, c, out, saved); break;
  }
  kernel_run.finish();
}

void lstm_backward_on(const Tensor& g, const Tensor& saved, const Tensor& c, const Tensor& grad_gates,
                      const Tensor& grad_c) {
  trace::KernelRun kernel_run("lstm_gates_backward", {&g, &saved, &c}, {&grad_gates, &grad_c});
  switch (c.device().type) {
    case DeviceType::CPU: cpu::lstm_gates_backward(g, saved, c, grad_gates, grad_c); break;
    case DeviceType::CUDA: cuda::lstm_gates_backward(g, saved, c, grad_gates, grad_c); break;
  }
  kernel_run.finish();
}

/// Whether a recurrence runs as one whole-sequence kernel call
/// (kernels/cpu/rnn_sequence.h): on the CPU, hidden size up to the cutoff.
bool whole_sequence_on_cpu(const Tensor& t, int64_t H) {
  return t.device().type == DeviceType::CPU && cpu::rnn_sequence_fits(H);
}

Tensor contiguous_or_none(const Tensor& t) { return t.defined() ? t.contiguous() : t; }

/// Checks a recurrence's gi [T, B, k H], state [B, H], w_hh [k H, H] and
/// b_hh [k H] (or undefined).
void check_recurrence(const char* op, const Tensor& gi, const Tensor& state, const Tensor& w_hh,
                      const Tensor& b_hh, int k) {
  check_defined(op, gi, "gi");
  check_defined(op, state, "h0");
  check_defined(op, w_hh, "w_hh");
  check_floating(op, gi);
  for (const Tensor* t : {&state, &w_hh, &b_hh})
    if (t->defined()) check_same_dtype(op, gi, *t);
  check_same_device(op, {&gi, &state, &w_hh});
  if (b_hh.defined()) check_same_device(op, {&gi, &b_hh});
  NOVA_CHECK(state.dim() == 2, "{}: h0 must be 2-D [B, H], got {}", op, state.shape().str());
  const int64_t B = state.size(0), H = state.size(1);
  NOVA_CHECK(gi.dim() == 3 && gi.size(0) >= 1 && gi.size(1) == B && gi.size(2) == k * H,
             "{}: gi must be [T >= 1, B, {}H] = [T, {}, {}] for h0 {}, got {}", op, k, B, k * H,
             state.shape().str(), gi.shape().str());
  NOVA_CHECK(w_hh.shape() == Shape({k * H, H}), "{}: w_hh must be [{}H, H] = [{}, {}], got {}", op, k,
             k * H, H, w_hh.shape().str());
  if (b_hh.defined())
    NOVA_CHECK(b_hh.shape() == Shape({k * H}), "{}: b_hh must be [{}H] = [{}], got {}", op, k, k * H,
               b_hh.shape().str());
}

/// The recurrence as a loop of per-step ops (differentiable to any order).
Tensor gru_recurrence_ops(const Tensor& gi, const Tensor& h0, const Tensor& w_hh, const Tensor& b_hh) {
  Tensor h = h0;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < gi.size(0); ++t) {
    h = gru_gates(select(gi, 0, t), linear(h, w_hh, b_hh), h);
    steps.push_back(h);
  }
  return stack(steps, 0);
}

Tensor lstm_recurrence_ops(const Tensor& gi, const Tensor& h0, const Tensor& c0, const Tensor& w_hh,
                           const Tensor& b_hh) {
  Tensor h = h0, c = c0;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < gi.size(0); ++t) {
    std::tie(h, c) = lstm_gates(select(gi, 0, t), linear(h, w_hh, b_hh), c);
    steps.push_back(stack({h, c}, 0));
  }
  return stack(steps, 0);
}


/// dW_hh = sum_t dgh_t^T h_{t-1} and db_hh = sum_t rows of dgh_t, as one
/// matmul and one column sum over all T B rows.
void weight_grads(const Tensor& dgh_all, const Tensor& h_prev_all, const BackwardCtx& c, Grads& grads,
                  int w_index) {
  const int64_t rows = dgh_all.size(0) * dgh_all.size(1);
  const Tensor d2 = reshape(dgh_all, {rows, dgh_all.size(2)});
  if (c.needs(w_index)) grads[w_index] = matmul(transpose(d2, 0, 1), reshape(h_prev_all, {rows, h_prev_all.size(2)}));
  if (c.needs(w_index + 1)) grads[w_index + 1] = reshape(segment_sum(d2, {rows}), {d2.size(1)});
}

/// Floating-point operations of a recurrence's products h W_hh^T over T
/// steps of B rows (G = gates x H outputs, H inputs), for the profiler's
/// GFLOP/s; a backward with d W_hh does this twice (d h and d W_hh).
double recurrence_flops(int64_t T, int64_t B, int64_t G, int64_t H) { return 2.0 * double(T * B) * G * H; }

// ---- CUDA: the persistent whole-sequence kernels ----

/// Whether a CUDA recurrence with `gates` gate blocks runs in the persistent
/// kernels: the sizes fit (rnn_sequence_supported) and NOVA_RNN_PERSISTENT is
/// not "0" (read per call, so that a test can switch it).
bool use_cuda_persistent(int gates, const Tensor& gi, const Tensor& h0) {
  if (!gi.is_cuda()) return false;
  const char* env = std::getenv("NOVA_RNN_PERSISTENT");
  if (env && std::strcmp(env, "0") == 0) return false;
  return cuda::rnn_sequence_supported(gates, h0.size(1), h0.size(0), gi.dtype(), gi.device().index);
}

}  // namespace

Tensor gru_recurrence(const Tensor& gi_in, const Tensor& h0_in, const Tensor& w_hh, const Tensor& b_hh) {
  check_recurrence("gru_recurrence", gi_in, h0_in, w_hh, b_hh, 3);
  const bool persistent = use_cuda_persistent(3, gi_in, h0_in);  // decided once, for the backward too
  const Tensor gi = gi_in.contiguous(), h0 = h0_in.contiguous();
  const int64_t T = gi.size(0), B = h0.size(0), H = h0.size(1);
  Tensor out = empty({T, B, H}, gi.dtype(), gi.device());
  Tensor saved = empty({T, B, 4 * H}, gi.dtype(), gi.device());  // per step: r, z, n, gh_n
  if (persistent) {
    trace::KernelRun kernel_run("gru_recurrence", {&gi, &h0, &w_hh}, {&out, &saved}, "CUDA persistent",
                                recurrence_flops(T, B, 3 * H, H));
    cuda::gru_sequence_forward(gi, h0, w_hh.contiguous(), contiguous_or_none(b_hh), out, saved);
  } else if (whole_sequence_on_cpu(gi, H)) {
    trace::KernelRun kernel_run("gru_recurrence", {&gi, &h0, &w_hh}, {&out, &saved}, "CPU whole sequence",
                                recurrence_flops(T, B, 3 * H, H));
    cpu::gru_sequence_forward(gi, h0, w_hh.contiguous(), contiguous_or_none(b_hh), out, saved);
  } else {
    NoGradGuard no_grad;  // one node for the whole loop, recorded below
    Tensor h = h0;
    for (int64_t t = 0; t < T; ++t) {
      Tensor h_new = select(out, 0, t);
      gru_forward_on(select(gi, 0, t), linear(h, w_hh, b_hh), h, h_new, select(saved, 0, t));
      h = h_new;
    }
  }
  if (autograd::any_requires_grad({&gi_in, &h0_in, &w_hh, &b_hh})) {
    record("gru_recurrence", {gi_in, h0_in, w_hh, b_hh}, out,
           [gi_in, h0_in, w_hh, b_hh, h0, saved, persistent](const BackwardCtx& c) {
      if (autograd::is_grad_enabled())
        return recompute_grads(gru_recurrence_ops(gi_in, h0_in, w_hh, b_hh), {gi_in, h0_in, w_hh, b_hh}, c.grad);
      const Tensor g = c.grad.contiguous();
      const Tensor& out = c.out;
      const int64_t T = out.size(0), B = out.size(1), H = out.size(2);
      Tensor dgi = empty({T, B, 3 * H}, out.dtype(), out.device());
      if (whole_sequence_on_cpu(out, H)) {
        Grads grads{dgi, empty({B, H}, out.dtype(), out.device()), Tensor(), Tensor()};
        if (c.needs(2)) grads[2] = empty({3 * H, H}, out.dtype(), out.device());
        if (c.needs(3)) grads[3] = empty({3 * H}, out.dtype(), out.device());
        trace::KernelRun kernel_run("gru_recurrence_backward", {&g, &saved, &out}, {&dgi, &grads[1]},
                                    "CPU whole sequence", recurrence_flops(T, B, 3 * H, H) * (c.needs(2) ? 2 : 1));
        cpu::gru_sequence_backward(g, saved, out, h0, w_hh.contiguous(), dgi, grads[1], grads[2], grads[3]);
        return grads;
      }
      Tensor dgh = empty({T, B, 3 * H}, out.dtype(), out.device());
      Tensor dh;  // dL/dh_t from the steps after t; after the loop, dL/dh0
      if (persistent) {
        dh = empty({B, H}, out.dtype(), out.device());
        trace::KernelRun kernel_run("gru_recurrence_backward", {&g, &saved, &out}, {&dgi, &dgh, &dh},
                                    "CUDA persistent", recurrence_flops(T, B, 3 * H, H));
        cuda::gru_sequence_backward(g, saved, out, h0, w_hh.contiguous(), dgi, dgh, dh);
      } else {
        Tensor dh_direct = empty({B, H}, out.dtype(), out.device());
        dh = zeros({B, H}, out.dtype(), out.device());
        for (int64_t t = T - 1; t >= 0; --t) {
          const Tensor h_prev = t > 0 ? select(out, 0, t - 1) : h0;
          const Tensor dgh_t = select(dgh, 0, t);
          gru_backward_on(select(g, 0, t) + dh, select(saved, 0, t), h_prev, select(dgi, 0, t), dgh_t, dh_direct);
          dh = matmul(dgh_t, w_hh) + dh_direct;  // [B, 3H] x [3H, H]
        }
      }
      Grads grads{dgi, dh, Tensor(), Tensor()};
      if (c.needs(2) || c.needs(3))
        weight_grads(dgh, cat({unsqueeze(h0, 0), narrow(out, 0, 0, T - 1)}, 0), c, grads, 2);
      return grads;
    }, NodeOptions().save_output().saves(b_hh.defined() ? "gi, h0, w_hh, b_hh, per-step gates"
                                                         : "gi, h0, w_hh, per-step gates"));
  }
  return out;
}

Tensor lstm_recurrence(const Tensor& gi_in, const Tensor& h0_in, const Tensor& c0_in, const Tensor& w_hh,
                       const Tensor& b_hh) {
  check_recurrence("lstm_recurrence", gi_in, h0_in, w_hh, b_hh, 4);
  check_defined("lstm_recurrence", c0_in, "c0");
  check_same_dtype("lstm_recurrence", gi_in, c0_in);
  check_same_device("lstm_recurrence", {&gi_in, &c0_in});
  NOVA_CHECK(c0_in.shape() == h0_in.shape(), "lstm_recurrence: c0 must be [B, H] = {} as h0, got {}",
             h0_in.shape().str(), c0_in.shape().str());
  const bool persistent = use_cuda_persistent(4, gi_in, h0_in);  // decided once, for the backward too
  const Tensor gi = gi_in.contiguous(), h0 = h0_in.contiguous(), c0 = c0_in.contiguous();
  const int64_t T = gi.size(0), B = h0.size(0), H = h0.size(1);
  Tensor hc = empty({T, 2, B, H}, gi.dtype(), gi.device());
  Tensor saved = empty({T, B, 5 * H}, gi.dtype(), gi.device());  // per step: i, f, g, o, tanh(c)
  if (persistent) {
    trace::KernelRun kernel_run("lstm_recurrence", {&gi, &h0, &c0, &w_hh}, {&hc, &saved}, "CUDA persistent",
                                recurrence_flops(T, B, 4 * H, H));
    cuda::lstm_sequence_forward(gi, h0, c0, w_hh.contiguous(), contiguous_or_none(b_hh), hc, saved);
  } else if (whole_sequence_on_cpu(gi, H)) {
    trace::KernelRun kernel_run("lstm_recurrence", {&gi, &h0, &c0, &w_hh}, {&hc, &saved}, "CPU whole sequence",
                                recurrence_flops(T, B, 4 * H, H));
    cpu::lstm_sequence_forward(gi, h0, c0, w_hh.contiguous(), contiguous_or_none(b_hh), hc, saved);
  } else {
    NoGradGuard no_grad;
    Tensor h = h0, c = c0;
    for (int64_t t = 0; t < T; ++t) {
      Tensor hc_t = select(hc, 0, t);  // [2, B, H]: the kernel's (h', c') layout
      lstm_forward_on(select(gi, 0, t), linear(h, w_hh, b_hh), c, hc_t, select(saved, 0, t));
      h = select(hc_t, 0, 0);
      c = select(hc_t, 0, 1);
    }
  }
  if (autograd::any_requires_grad({&gi_in, &h0_in, &c0_in, &w_hh, &b_hh})) {
    record("lstm_recurrence", {gi_in, h0_in, c0_in, w_hh, b_hh}, hc,
           [gi_in, h0_in, c0_in, w_hh, b_hh, h0, c0, saved, persistent](const BackwardCtx& ctx) {
      if (autograd::is_grad_enabled())
        return recompute_grads(lstm_recurrence_ops(gi_in, h0_in, c0_in, w_hh, b_hh),
                               {gi_in, h0_in, c0_in, w_hh, b_hh}, ctx.grad);
      const Tensor g = ctx.grad.contiguous();
      const Tensor& hc = ctx.out;
      const int64_t T = hc.size(0), B = hc.size(2), H = hc.size(3);
      Tensor dgates = empty({T, B, 4 * H}, hc.dtype(), hc.device());
      if (whole_sequence_on_cpu(hc, H)) {
        Grads grads{dgates, empty({B, H}, hc.dtype(), hc.device()), empty({B, H}, hc.dtype(), hc.device()),
                    Tensor(), Tensor()};
        if (ctx.needs(3)) grads[3] = empty({4 * H, H}, hc.dtype(), hc.device());
        if (ctx.needs(4)) grads[4] = empty({4 * H}, hc.dtype(), hc.device());
        trace::KernelRun kernel_run("lstm_recurrence_backward", {&g, &saved, &hc}, {&dgates, &grads[1], &grads[2]},
                                    "CPU whole sequence", recurrence_flops(T, B, 4 * H, H) * (ctx.needs(3) ? 2 : 1));
        cpu::lstm_sequence_backward(g, saved, hc, h0, c0, w_hh.contiguous(), dgates, grads[1], grads[2],
                                    grads[3], grads[4]);
        return grads;
      }
      Tensor dh, dc;  // dL/dh_t, dL/dc_t from the steps after t; after the loop, of h0 and c0
      if (persistent) {
        dh = empty({B, H}, hc.dtype(), hc.device());
        dc = empty({B, H}, hc.dtype(), hc.device());
        trace::KernelRun kernel_run("lstm_recurrence_backward", {&g, &saved, &hc}, {&dgates, &dh, &dc},
                                    "CUDA persistent", recurrence_flops(T, B, 4 * H, H));
        cuda::lstm_sequence_backward(g, saved, hc, c0, w_hh.contiguous(), dgates, dh, dc);
      } else {
        dh = zeros({B, H}, hc.dtype(), hc.device());
        dc = zeros({B, H}, hc.dtype(), hc.device());
        for (int64_t t = T - 1; t >= 0; --t) {
          const Tensor c_prev = t > 0 ? select(select(hc, 0, t - 1), 0, 1) : c0;
          const Tensor dgates_t = select(dgates, 0, t);
          Tensor dc_prev = empty({B, H}, hc.dtype(), hc.device());
          lstm_backward_on(select(g, 0, t) + stack({dh, dc}, 0), select(saved, 0, t), c_prev, dgates_t, dc_prev);
          dh = matmul(dgates_t, w_hh);  // [B, 4H] x [4H, H]
          dc = dc_prev;
        }
      }
      Grads grads{dgates, dh, dc, Tensor(), Tensor()};
      if (ctx.needs(3) || ctx.needs(4))
        weight_grads(dgates, cat({unsqueeze(h0, 0), select(narrow(hc, 0, 0, T - 1), 1, 0)}, 0), ctx, grads, 3);
      return grads;
    }, NodeOptions().save_output().saves(b_hh.defined() ? "gi, h0, c0, w_hh, b_hh, per-step gates"
                                                         : "gi, h0, c0, w_hh, per-step gates"));
  }
  return hc;
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
