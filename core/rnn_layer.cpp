// core/rnn_layer.cpp: checks, dispatch and autograd of gru_layer and
// lstm_layer (see rnn_layer.h). The derivative table is gru_recurrence's
// and lstm_recurrence's (core/rnn_gates.cpp) plus the projection's:
//   d W_ih = sum_t d gi_t^T x_t,  d b_ih = sum_t d gi_t,  d x_t = d gi_t W_ih,
// with d gi_t step t's gate gradients (LSTM: also d gh_t, so d b_ih = d b_hh).
#include "core/rnn_layer.h"

#include "core/autograd.h"
#include "core/factory.h"
#include "core/matmul.h"
#include "core/rnn_gates.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/cpu/rnn_sequence.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;
using autograd::recompute_grads;

namespace {

/// Checks x [T, B, I], w_ih [k H, I] and b_ih [k H] against h0 [B, H]; the
/// recurrence op checks the rest (h0, c0, w_hh, b_hh) on either path.
void check_input_side(const char* op, const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& b_ih,
                      int k) {
  check_defined(op, x, "x");
  check_defined(op, h0, "h0");
  check_defined(op, w_ih, "w_ih");
  check_floating(op, x);
  check_same_dtype(op, x, h0);
  check_same_dtype(op, x, w_ih);
  check_same_device(op, {&x, &h0, &w_ih});
  if (b_ih.defined()) {
    check_same_dtype(op, x, b_ih);
    check_same_device(op, {&x, &b_ih});
  }
  NOVA_CHECK(h0.dim() == 2, "{}: h0 must be 2-D [B, H], got {}", op, h0.shape().str());
  const int64_t B = h0.size(0), H = h0.size(1);
  NOVA_CHECK(x.dim() == 3 && x.size(0) >= 1 && x.size(1) == B,
             "{}: x must be [T >= 1, B, I] with B = {} (h0 {}), got {}", op, B, h0.shape().str(), x.shape().str());
  NOVA_CHECK(w_ih.shape() == Shape({k * H, x.size(2)}), "{}: w_ih must be [{}H, I] = [{}, {}], got {}", op, k,
             k * H, x.size(2), w_ih.shape().str());
  if (b_ih.defined())
    NOVA_CHECK(b_ih.shape() == Shape({k * H}), "{}: b_ih must be [{}H] = [{}], got {}", op, k, k * H,
               b_ih.shape().str());
}

/// Checks w_hh [k H, H] and b_hh [k H] (or undefined) against x and
/// h0 [B, H]: on the fused path, which calls no recurrence op to check them.
void check_recurrent_side(const char* op, const Tensor& x, const Tensor& h0, const Tensor& w_hh,
                          const Tensor& b_hh, int k) {
  check_defined(op, w_hh, "w_hh");
  check_same_dtype(op, x, w_hh);
  check_same_device(op, {&x, &w_hh});
  const int64_t H = h0.size(1);
  NOVA_CHECK(w_hh.shape() == Shape({k * H, H}), "{}: w_hh must be [{}H, H] = [{}, {}], got {}", op, k, k * H, H,
             w_hh.shape().str());
  if (b_hh.defined()) {
    check_same_dtype(op, x, b_hh);
    check_same_device(op, {&x, &b_hh});
    NOVA_CHECK(b_hh.shape() == Shape({k * H}), "{}: b_hh must be [{}H] = [{}], got {}", op, k, k * H,
               b_hh.shape().str());
  }
}

/// Whether the layer runs in the CPU whole-sequence kernels with its
/// projection inside the loop.
bool fused_on_cpu(const Tensor& x, int64_t H) { return x.is_cpu() && cpu::rnn_sequence_fits(H); }

Tensor contiguous_or_none(const Tensor& t) { return t.defined() ? t.contiguous() : t; }

/// gi [T, B, k H] = x W_ih^T + b_ih, one matmul over all T B rows.
Tensor projections(const Tensor& x, const Tensor& w_ih, const Tensor& b_ih) {
  const int64_t T = x.size(0), B = x.size(1);
  return reshape(linear(reshape(x, {T * B, x.size(2)}), w_ih, b_ih), {T, B, w_ih.size(0)});
}

/// Floating-point operations of the fused kernels' products, for the
/// profiler: the recurrent ones (h W_hh^T, G x H per row and step) and the
/// projection's (x W_ih^T, G x I), forward; the backward is counted as
/// twice that (d h and the weight gradients; dx, when needed, adds the
/// projection's once more, not counted).
double layer_flops(const Tensor& x, int64_t G, int64_t H) {
  return 2.0 * double(x.size(0) * x.size(1)) * G * (H + x.size(2));
}

}  // namespace

Tensor gru_layer_composed(const Tensor& x, const Tensor& h0, const Tensor& w_ih, const Tensor& b_ih,
                          const Tensor& w_hh, const Tensor& b_hh) {
  check_input_side("gru_layer", x, h0, w_ih, b_ih, 3);
  return gru_recurrence(projections(x, w_ih, b_ih), h0, w_hh, b_hh);
}

Tensor lstm_layer_composed(const Tensor& x, const Tensor& h0, const Tensor& c0, const Tensor& w_ih,
                           const Tensor& b_ih, const Tensor& w_hh, const Tensor& b_hh) {
  check_input_side("lstm_layer", x, h0, w_ih, b_ih, 4);
  return lstm_recurrence(projections(x, w_ih, b_ih), h0, c0, w_hh, b_hh);
}

Tensor gru_layer(const Tensor& x, const Tensor& h0_in, const Tensor& w_ih_in, const Tensor& b_ih_in,
                 const Tensor& w_hh_in, const Tensor& b_hh_in) {
  check_input_side("gru_layer", x, h0_in, w_ih_in, b_ih_in, 3);
  const int64_t T = x.size(0), B = h0_in.size(0), H = h0_in.size(1);
  if (!fused_on_cpu(x, H)) return gru_layer_composed(x, h0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in);
  check_recurrent_side("gru_layer", x, h0_in, w_hh_in, b_hh_in, 3);
  const Tensor h0 = h0_in.contiguous(), w_ih = w_ih_in.contiguous(), b_ih = contiguous_or_none(b_ih_in);
  const Tensor w_hh = w_hh_in.contiguous(), b_hh = contiguous_or_none(b_hh_in);
  Tensor out = empty({T, B, H}, x.dtype(), x.device());
  Tensor saved = empty({T, B, 4 * H}, x.dtype(), x.device());  // per step: r, z, n, gh_n
  {
    trace::KernelRun kernel_run("gru_layer", {&x, &h0, &w_ih, &w_hh}, {&out, &saved}, "CPU whole sequence",
                                layer_flops(x, 3 * H, H));
    cpu::gru_layer_forward(cpu::LayerInput{x, w_ih, b_ih}, h0, w_hh, b_hh, out, saved);
  }
  if (autograd::any_requires_grad({&x, &h0_in, &w_ih_in, &b_ih_in, &w_hh_in, &b_hh_in})) {
    record("gru_layer", {x, h0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in}, out,
           [x, h0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in, h0, w_ih, b_ih, w_hh, saved](const BackwardCtx& c) {
      if (autograd::is_grad_enabled())
        return recompute_grads(gru_layer_composed(x, h0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in),
                               {x, h0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in}, c.grad);
      const Tensor g = c.grad.contiguous();
      const Tensor& out = c.out;
      const int64_t H = out.size(2), G = 3 * H;
      Grads grads(6);
      grads[1] = empty_like(h0);
      if (c.needs(0)) grads[0] = empty(x.shape(), x.dtype(), x.device());
      if (c.needs(2)) grads[2] = empty({G, x.size(2)}, x.dtype(), x.device());
      if (c.needs(3)) grads[3] = empty({G}, x.dtype(), x.device());
      if (c.needs(4)) grads[4] = empty({G, H}, x.dtype(), x.device());
      if (c.needs(5)) grads[5] = empty({G}, x.dtype(), x.device());
      trace::KernelRun kernel_run("gru_layer_backward", {&g, &saved, &out}, {&grads[1]}, "CPU whole sequence",
                                  layer_flops(x, G, H) * 2);
      cpu::gru_layer_backward(g, saved, out, h0, w_hh, cpu::LayerInput{x, w_ih, b_ih},
                              cpu::LayerInputGrads{grads[0], grads[2], grads[3]}, grads[1], grads[4], grads[5]);
      return grads;
    }, NodeOptions().save_output().saves("x, h0, w_ih, w_hh (and biases), per-step gates"));
  }
  return out;
}

Tensor lstm_layer(const Tensor& x, const Tensor& h0_in, const Tensor& c0_in, const Tensor& w_ih_in,
                  const Tensor& b_ih_in, const Tensor& w_hh_in, const Tensor& b_hh_in) {
  check_input_side("lstm_layer", x, h0_in, w_ih_in, b_ih_in, 4);
  const int64_t T = x.size(0), B = h0_in.size(0), H = h0_in.size(1);
  if (!fused_on_cpu(x, H)) return lstm_layer_composed(x, h0_in, c0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in);
  check_recurrent_side("lstm_layer", x, h0_in, w_hh_in, b_hh_in, 4);
  check_defined("lstm_layer", c0_in, "c0");
  check_same_dtype("lstm_layer", x, c0_in);
  check_same_device("lstm_layer", {&x, &c0_in});
  NOVA_CHECK(c0_in.shape() == h0_in.shape(), "lstm_layer: c0 must be [B, H] = {} as h0, got {}",
             h0_in.shape().str(), c0_in.shape().str());
  const Tensor h0 = h0_in.contiguous(), c0 = c0_in.contiguous(), w_ih = w_ih_in.contiguous();
  const Tensor b_ih = contiguous_or_none(b_ih_in), w_hh = w_hh_in.contiguous(), b_hh = contiguous_or_none(b_hh_in);
  Tensor hc = empty({T, 2, B, H}, x.dtype(), x.device());
  Tensor saved = empty({T, B, 5 * H}, x.dtype(), x.device());  // per step: i, f, g, o, tanh(c)
  {
    trace::KernelRun kernel_run("lstm_layer", {&x, &h0, &c0, &w_ih, &w_hh}, {&hc, &saved}, "CPU whole sequence",
                                layer_flops(x, 4 * H, H));
    cpu::lstm_layer_forward(cpu::LayerInput{x, w_ih, b_ih}, h0, c0, w_hh, b_hh, hc, saved);
  }
  if (autograd::any_requires_grad({&x, &h0_in, &c0_in, &w_ih_in, &b_ih_in, &w_hh_in, &b_hh_in})) {
    record("lstm_layer", {x, h0_in, c0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in}, hc,
           [x, h0_in, c0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in, h0, c0, w_ih, b_ih, w_hh,
            saved](const BackwardCtx& c) {
      if (autograd::is_grad_enabled())
        return recompute_grads(lstm_layer_composed(x, h0_in, c0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in),
                               {x, h0_in, c0_in, w_ih_in, b_ih_in, w_hh_in, b_hh_in}, c.grad);
      const Tensor g = c.grad.contiguous();
      const Tensor& hc = c.out;
      const int64_t H = hc.size(3), G = 4 * H;
      Grads grads(7);
      grads[1] = empty_like(h0);
      grads[2] = empty_like(c0);
      if (c.needs(0)) grads[0] = empty(x.shape(), x.dtype(), x.device());
      if (c.needs(3)) grads[3] = empty({G, x.size(2)}, x.dtype(), x.device());
      if (c.needs(4)) grads[4] = empty({G}, x.dtype(), x.device());
      if (c.needs(5)) grads[5] = empty({G, H}, x.dtype(), x.device());
      if (c.needs(6)) grads[6] = empty({G}, x.dtype(), x.device());
      trace::KernelRun kernel_run("lstm_layer_backward", {&g, &saved, &hc}, {&grads[1], &grads[2]},
                                  "CPU whole sequence", layer_flops(x, G, H) * 2);
      cpu::lstm_layer_backward(g, saved, hc, h0, c0, w_hh, cpu::LayerInput{x, w_ih, b_ih},
                               cpu::LayerInputGrads{grads[0], grads[3], grads[4]}, grads[1], grads[2], grads[5],
                               grads[6]);
      return grads;
    }, NodeOptions().save_output().saves("x, h0, c0, w_ih, w_hh (and biases), per-step gates"));
  }
  return hc;
}

}  // namespace nova::ops
