// core/rnn_sequence.cpp: checks, dispatch and autograd of gru_sequence. The
// forward saves per step the gates r, z, n and the n gate's hidden
// projection ([T, B, 4H], from the kernel) besides hs, so the backward needs
// no recomputation; the backward is one kernel call producing all four
// input gradients.
#include "core/rnn_sequence.h"

#include "core/autograd.h"
#include "core/factory.h"
#include "kernels/rnn_sequence.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;

namespace {

constexpr const char* kOp = "gru_sequence";

Tensor workspace(int64_t n, const Tensor& like) {
  return n > 0 ? empty({n}, like.dtype(), like.device()) : Tensor();
}

Tensor plain(const Tensor& t) { return t.defined() ? t.detach().contiguous() : Tensor(); }

void check_inputs(const Tensor& gi, const Tensor& h0, const Tensor& w_hh, const Tensor& b_hh) {
  check_defined(kOp, gi, "gi");
  check_defined(kOp, h0, "h0");
  check_defined(kOp, w_hh, "w_hh");
  check_floating(kOp, gi);
  check_same_device(kOp, {&gi, &h0, &w_hh, &b_hh});
  check_same_dtype(kOp, gi, h0);
  check_same_dtype(kOp, gi, w_hh);
  if (b_hh.defined()) check_same_dtype(kOp, gi, b_hh);
  NOVA_CHECK(gi.dim() == 3 && gi.size(2) % 3 == 0 && gi.size(2) > 0,
             "{}: gi must be [T, B, 3H] (the input projections of every step), got {}", kOp, gi.shape().str());
  const int64_t B = gi.size(1), H = gi.size(2) / 3;
  NOVA_CHECK(h0.dim() == 2 && h0.size(0) == B && h0.size(1) == H, "{}: h0 must be [{}, {}] for gi {}, got {}", kOp,
             B, H, gi.shape().str(), h0.shape().str());
  NOVA_CHECK(w_hh.dim() == 2 && w_hh.size(0) == 3 * H && w_hh.size(1) == H,
             "{}: w_hh must be [{}, {}] for hidden size {}, got {}", kOp, 3 * H, H, H, w_hh.shape().str());
  NOVA_CHECK(!b_hh.defined() || (b_hh.dim() == 1 && b_hh.size(0) == 3 * H), "{}: b_hh must be [{}], got {}", kOp,
             3 * H, b_hh.defined() ? b_hh.shape().str() : std::string());
}

}  // namespace

Tensor gru_sequence(const Tensor& gi, const Tensor& h0, const Tensor& w_hh, const Tensor& b_hh) {
  check_inputs(gi, h0, w_hh, b_hh);
  const int64_t Tn = gi.size(0), B = gi.size(1), H = gi.size(2) / 3;
  Tensor hs = empty({Tn, B, H}, gi.dtype(), gi.device());
  Tensor saved = empty({Tn, B, 4 * H}, gi.dtype(), gi.device());
  const Tensor gic = plain(gi), h0c = plain(h0), wc = plain(w_hh), bc = plain(b_hh);
  if (Tn > 0 && B > 0) {
    const bool cuda = gi.is_cuda();
    const Tensor ws = workspace(cuda ? cuda::gru_sequence_forward_workspace(Tn, B, H)
                                     : cpu::gru_sequence_forward_workspace(Tn, B, H),
                                gi);
    if (cuda) cuda::gru_sequence_forward(gic, h0c, wc, bc, hs, saved, ws);
    else cpu::gru_sequence_forward(gic, h0c, wc, bc, hs, saved, ws);
  }
  if (autograd::any_requires_grad({&gi, &h0, &w_hh, &b_hh})) {
    // hs is saved through its own data (a detached alias): a handle to the
    // output itself would make a cycle output -> node -> output.
    const Tensor hs_data = hs.detach();
    auto backward = [h0c, wc, hs_data, saved, has_bias = b_hh.defined()](const BackwardCtx& c) {
      NOVA_CHECK(!autograd::is_grad_enabled(),
                 "{}: second derivatives (create_graph) are not supported by the fused recurrence; build the "
                 "step-by-step graph (matmul and gate ops per step) to differentiate twice",
                 kOp);
      const int64_t Tn = hs_data.size(0), B = hs_data.size(1), H = hs_data.size(2);
      Grads grads(4);
      if (c.needs(0)) grads[0] = empty({Tn, B, 3 * H}, hs_data.dtype(), hs_data.device());
      if (c.needs(1)) grads[1] = empty({B, H}, hs_data.dtype(), hs_data.device());
      if (c.needs(2)) grads[2] = empty({3 * H, H}, hs_data.dtype(), hs_data.device());
      if (c.needs(3) && has_bias) grads[3] = empty({3 * H}, hs_data.dtype(), hs_data.device());
      if (Tn == 0 || B == 0) {
        for (Tensor& g : grads)
          if (g.defined()) g.zero_();
        return grads;
      }
      const Tensor grad_hs = plain(c.grad);
      const bool cuda = grad_hs.is_cuda();
      const Tensor ws = workspace(cuda ? cuda::gru_sequence_backward_workspace(Tn, B, H)
                                       : cpu::gru_sequence_backward_workspace(Tn, B, H),
                                  grad_hs);
      if (cuda)
        cuda::gru_sequence_backward(grad_hs, h0c, wc, hs_data, saved, grads[0], grads[1],
                                    grads[2], grads[3], ws);
      else
        cpu::gru_sequence_backward(grad_hs, h0c, wc, hs_data, saved, grads[0], grads[1],
                                   grads[2], grads[3], ws);
      return grads;
    };
    autograd::record(kOp, {gi, h0, w_hh, b_hh}, hs, std::move(backward));
  }
  return hs;
}

}  // namespace nova::ops
