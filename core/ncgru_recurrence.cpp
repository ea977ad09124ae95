// core/ncgru_recurrence.cpp: NC-GRU's loop as one autograd node (see
// ncgru_recurrence.h for why and for the derivative table it implements).
#include "core/ncgru_recurrence.h"

#include <vector>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/matmul.h"
#include "core/reduce.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/ncgru_gates.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

constexpr const char* kOp = "ncgru_recurrence";

void check_args(const Tensor& proj, const Tensor& h0, const Tensor& U_r, const Tensor& U_u, const Tensor& U_c,
                const Tensor& b_r, const Tensor& b_u, const Tensor& b_c) {
  const char* names[] = {"proj", "h0", "U_r", "U_u", "U_c", "b_r", "b_u", "b_c"};
  const Tensor* all[] = {&proj, &h0, &U_r, &U_u, &U_c, &b_r, &b_u, &b_c};
  for (int i = 0; i < 8; ++i) check_defined(kOp, *all[i], names[i]);
  check_floating(kOp, proj);
  for (int i = 1; i < 8; ++i) check_same_dtype(kOp, proj, *all[i]);
  check_same_device(kOp, {&proj, &h0, &U_r, &U_u, &U_c, &b_r, &b_u, &b_c});
  NOVA_CHECK(h0.dim() == 2, "{}: h0 must be 2-D [B, H], got {}", kOp, h0.shape().str());
  const int64_t B = h0.size(0), H = h0.size(1);
  NOVA_CHECK(proj.dim() == 3 && proj.size(0) >= 1 && proj.size(1) == B && proj.size(2) == 3 * H,
             "{}: proj must be [T >= 1, B, 3H] = [T, {}, {}] for h0 {}, got {}", kOp, B, 3 * H, h0.shape().str(),
             proj.shape().str());
  for (int i = 2; i < 5; ++i)
    NOVA_CHECK(all[i]->shape() == Shape({H, H}), "{}: {} must be [H, H] = [{}, {}], got {}", kOp, names[i], H, H,
               all[i]->shape().str());
  for (int i = 5; i < 8; ++i)
    NOVA_CHECK(all[i]->shape() == Shape({H}), "{}: {} must be [H] = [{}], got {}", kOp, names[i], H,
               all[i]->shape().str());
}

/// Runs a kernel of kernels/ncgru_gates.h on the tensors' device (`name`
/// for the op trace and the profiler).
template <typename CpuFn, typename CudaFn, typename... Args>
void on_device(const char* name, const Device& dev, CpuFn cpu_fn, CudaFn cuda_fn, const Args&... args) {
  trace::KernelRun kernel_run(name, {}, {}, dev.is_cuda() ? "CUDA kernel" : "CPU loop");
  switch (dev.type) {
    case DeviceType::CPU: cpu_fn(args...); break;
    case DeviceType::CUDA: cuda_fn(args...); break;
  }
}

}  // namespace

Tensor ncgru_recurrence_composed(const Tensor& proj, const Tensor& h0, const Tensor& U_r, const Tensor& U_u,
                                 const Tensor& U_c, const Tensor& b_r, const Tensor& b_u, const Tensor& b_c) {
  check_args(proj, h0, U_r, U_u, U_c, b_r, b_u, b_c);
  const int64_t H = h0.size(1);
  Tensor h = h0;
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < proj.size(0); ++t) {
    const Tensor p = select(proj, 0, t);
    // the fused loop's roundings: r and u from one matmul with both weights
    const Tensor ru = sigmoid(narrow(p, 1, 0, 2 * H) + linear(h, cat({U_r, U_u}, 0), cat({b_r, b_u}, 0)));
    const Tensor u = narrow(ru, 1, H, H);
    const Tensor c = modrelu(narrow(p, 1, 2 * H, H) + matmul(narrow(ru, 1, 0, H) * h, U_c.t()), b_c);
    h = (1.0 - u) * h + u * c;
    steps.push_back(h);
  }
  return stack(steps, 0);
}

Tensor ncgru_recurrence(const Tensor& proj_in, const Tensor& h0_in, const Tensor& U_r, const Tensor& U_u,
                        const Tensor& U_c, const Tensor& b_r, const Tensor& b_u, const Tensor& b_c_in) {
  check_args(proj_in, h0_in, U_r, U_u, U_c, b_r, b_u, b_c_in);
  const Tensor proj = proj_in.contiguous(), h0 = h0_in.contiguous(), b_c = b_c_in.contiguous();
  const int64_t T = proj.size(0), B = h0.size(0), H = h0.size(1);
  const DType dt = proj.dtype();
  const Device dev = proj.device();
  // every step's h_t goes straight into the output; kept for the backward:
  // r and u side by side, r h, the candidate's argument z and the candidate c
  Tensor out = empty({T, B, H}, dt, dev);
  Tensor ru = empty({T, B, 2 * H}, dt, dev), rh = empty({T, B, H}, dt, dev);
  Tensor zs = empty({T, B, H}, dt, dev), cs = empty({T, B, H}, dt, dev);
  Tensor U_ru, b_ru;
  {
    NoGradGuard no_grad;  // one node for the whole loop, recorded below
    U_ru = cat({U_r, U_u}, 0);  // [2H, H]: both gates' h U^T in one matmul
    b_ru = cat({b_r, b_u}, 0);
    const Tensor U_c_t = U_c.t();
    Tensor h = h0;
    for (int64_t t = 0; t < T; ++t) {
      const Tensor p = select(proj, 0, t), ru_t = select(ru, 0, t), rh_t = select(rh, 0, t);
      const Tensor lin = linear(h, U_ru, b_ru);
      on_device("ncgru_forward_gates", dev, cpu::ncgru_forward_gates, cuda::ncgru_forward_gates, p, lin, h, ru_t, rh_t);
      const Tensor m = matmul(rh_t, U_c_t);
      const Tensor h_new = select(out, 0, t);
      on_device("ncgru_forward_state", dev, cpu::ncgru_forward_state, cuda::ncgru_forward_state, p, m, b_c, ru_t, h,
                select(zs, 0, t), select(cs, 0, t), h_new);
      h = h_new;
    }
  }
  if (!autograd::any_requires_grad({&proj_in, &h0_in, &U_r, &U_u, &U_c, &b_r, &b_u, &b_c_in})) return out;
  record(kOp, {proj_in, h0_in, U_r, U_u, U_c, b_r, b_u, b_c_in}, out,
         [=](const BackwardCtx& c) {
    if (autograd::is_grad_enabled())  // create_graph: the loop of ops, recorded, differentiated
      return autograd::recompute_grads(ncgru_recurrence_composed(proj_in, h0_in, U_r, U_u, U_c, b_r, b_u, b_c_in),
                                       {proj_in, h0_in, U_r, U_u, U_c, b_r, b_u, b_c_in}, c.grad);
    const Tensor grad = c.grad.contiguous();
    const Tensor& hs = c.out;  // the saved output (not captured: that would be a cycle through this node)
    // step t's gradient of the projections goes into its rows of d_proj:
    // [d r_pre | d u_pre | dz]; g, du and dh_part are per-step scratch
    Tensor d_proj = empty({T, B, 3 * H}, dt, dev), d_bc = empty({T, B, H}, dt, dev);
    Tensor g = empty({B, H}, dt, dev), du = empty({B, H}, dt, dev), dh_part = empty({B, H}, dt, dev);
    Tensor dh;  // dL/dh_t from the steps after t (none after the last)
    for (int64_t t = T - 1; t >= 0; --t) {
      const Tensor h_prev = t > 0 ? select(hs, 0, t - 1) : h0;
      const Tensor dp = select(d_proj, 0, t), ru_t = select(ru, 0, t);
      on_device("ncgru_backward_candidate", dev, cpu::ncgru_backward_candidate, cuda::ncgru_backward_candidate,
                select(grad, 0, t), dh, ru_t, select(cs, 0, t), h_prev, select(zs, 0, t), b_c, g, du,
                select(d_bc, 0, t), dp);
      const Tensor d_rh = matmul(narrow(dp, 1, 2 * H, H), U_c);
      on_device("ncgru_backward_gates", dev, cpu::ncgru_backward_gates, cuda::ncgru_backward_gates, g, du, d_rh, h_prev,
                ru_t, dp, dh_part);
      dh = dh_part + matmul(narrow(dp, 1, 0, 2 * H), U_ru);
    }
    Grads grads(8);
    grads[0] = d_proj;
    grads[1] = dh;
    // the weights: one matmul / one column sum over all T B rows
    const int64_t rows = T * B;
    const Tensor d_ru_all = reshape(narrow(d_proj, 2, 0, 2 * H), {rows, 2 * H});
    if (c.needs(2) || c.needs(3)) {
      const Tensor h_prev_all = cat({unsqueeze(h0, 0), narrow(hs, 0, 0, T - 1)}, 0);
      const Tensor d_U_ru = matmul(transpose(d_ru_all, 0, 1), reshape(h_prev_all, {rows, H}));
      if (c.needs(2)) grads[2] = narrow(d_U_ru, 0, 0, H).contiguous();
      if (c.needs(3)) grads[3] = narrow(d_U_ru, 0, H, H).contiguous();
    }
    if (c.needs(4))
      grads[4] = matmul(transpose(reshape(narrow(d_proj, 2, 2 * H, H), {rows, H}), 0, 1), reshape(rh, {rows, H}));
    if (c.needs(5) || c.needs(6)) {
      const Tensor d_b_ru = sum(d_ru_all, {0});
      if (c.needs(5)) grads[5] = narrow(d_b_ru, 0, 0, H).contiguous();
      if (c.needs(6)) grads[6] = narrow(d_b_ru, 0, H, H).contiguous();
    }
    if (c.needs(7)) grads[7] = sum(reshape(d_bc, {rows, H}), {0});
    return grads;
  }, NodeOptions().save_output().saves(
         "proj, h0, U_r, U_u, U_c, b_r, b_u, b_c, [U_r; U_u], per-step r, u, r h, z, c"));
  return out;
}

}  // namespace nova::ops
