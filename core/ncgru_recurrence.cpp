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
#include "core/views.h"

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
                        const Tensor& U_c, const Tensor& b_r, const Tensor& b_u, const Tensor& b_c) {
  check_args(proj_in, h0_in, U_r, U_u, U_c, b_r, b_u, b_c);
  const Tensor proj = proj_in.contiguous(), h0 = h0_in.contiguous();
  const int64_t T = proj.size(0), H = h0.size(1);
  // per step, kept for the backward: r and u side by side [B, 2H], r h, the
  // candidate's argument z and the candidate c, and h_t itself
  const size_t n = static_cast<size_t>(T);
  std::vector<Tensor> ru(n), rh(n), zs(n), cs(n), hs(n);
  Tensor U_ru, b_ru;
  {
    NoGradGuard no_grad;  // one node for the whole loop, recorded below
    U_ru = cat({U_r, U_u}, 0);  // [2H, H]: both gates' h U^T in one matmul
    b_ru = cat({b_r, b_u}, 0);
    const Tensor U_c_t = U_c.t();
    Tensor h = h0;
    for (int64_t t = 0; t < T; ++t) {
      const Tensor p = select(proj, 0, t);
      const size_t k = size_t(t);
      ru[k] = sigmoid(narrow(p, 1, 0, 2 * H) + linear(h, U_ru, b_ru));
      const Tensor u = narrow(ru[k], 1, H, H);
      rh[k] = narrow(ru[k], 1, 0, H) * h;
      zs[k] = narrow(p, 1, 2 * H, H) + matmul(rh[k], U_c_t);
      cs[k] = modrelu(zs[k], b_c);
      h = hs[k] = (1.0 - u) * h + u * cs[k];
    }
  }
  Tensor out = stack(hs, 0);
  if (!autograd::any_requires_grad({&proj_in, &h0_in, &U_r, &U_u, &U_c, &b_r, &b_u, &b_c})) return out;
  record(kOp, {proj_in, h0_in, U_r, U_u, U_c, b_r, b_u, b_c}, out,
         [=](const BackwardCtx& c) {
    if (autograd::is_grad_enabled())  // create_graph: the loop of ops, recorded, differentiated
      return autograd::recompute_grads(ncgru_recurrence_composed(proj_in, h0_in, U_r, U_u, U_c, b_r, b_u, b_c),
                                       {proj_in, h0_in, U_r, U_u, U_c, b_r, b_u, b_c}, c.grad);
    const Tensor grad = c.grad;
    std::vector<Tensor> d_ru(n), d_z(n), d_bc(n), d_proj(n), h_prev(n);
    Tensor dh;  // dL/dh_t from the steps after t (none after the last)
    for (int64_t t = T - 1; t >= 0; --t) {
      const size_t k = size_t(t);
      h_prev[k] = t > 0 ? hs[k - 1] : h0;
      const Tensor g = dh.defined() ? select(grad, 0, t) + dh : select(grad, 0, t);
      const Tensor r = narrow(ru[k], 1, 0, H), u = narrow(ru[k], 1, H, H);
      const Tensor du = g * (cs[k] - h_prev[k]);
      const Tensor dc = g * u;
      const Tensor s = sign(zs[k]);
      d_bc[k] = where(gt(abs(zs[k]) + b_c, 0.0), dc * s, 0.0);  // dc m sgn(z)
      d_z[k] = d_bc[k] * s;
      const Tensor d_rh = matmul(d_z[k], U_c);
      d_ru[k] = cat({d_rh * h_prev[k], du}, 1) * ru[k] * (1.0 - ru[k]);
      d_proj[k] = cat({d_ru[k], d_z[k]}, 1);
      dh = g * (1.0 - u) + d_rh * r + matmul(d_ru[k], U_ru);
    }
    Grads grads(8);
    grads[0] = stack(d_proj, 0);
    grads[1] = dh;
    // the weights: one matmul / one column sum over all T B rows
    const int64_t rows = T * h0.size(0);
    const Tensor d_ru_all = reshape(stack(d_ru, 0), {rows, 2 * H});
    if (c.needs(2) || c.needs(3)) {
      const Tensor d_U_ru = matmul(transpose(d_ru_all, 0, 1), reshape(stack(h_prev, 0), {rows, H}));
      if (c.needs(2)) grads[2] = narrow(d_U_ru, 0, 0, H).contiguous();
      if (c.needs(3)) grads[3] = narrow(d_U_ru, 0, H, H).contiguous();
    }
    if (c.needs(4))
      grads[4] = matmul(transpose(reshape(stack(d_z, 0), {rows, H}), 0, 1), reshape(stack(rh, 0), {rows, H}));
    if (c.needs(5) || c.needs(6)) {
      const Tensor d_b_ru = sum(d_ru_all, {0});
      if (c.needs(5)) grads[5] = narrow(d_b_ru, 0, 0, H).contiguous();
      if (c.needs(6)) grads[6] = narrow(d_b_ru, 0, H, H).contiguous();
    }
    if (c.needs(7)) grads[7] = sum(reshape(stack(d_bc, 0), {rows, H}), {0});
    return grads;
  });
  return out;
}

}  // namespace nova::ops
