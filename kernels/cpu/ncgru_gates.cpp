// kernels/cpu/ncgru_gates.cpp: NC-GRU's fused gate loops on the CPU (see
// kernels/ncgru_gates.h): one pass over a step's rows per kernel, the
// formulas of kernels/ncgru_gates_math.h per element. Rows go to OpenMP
// threads only when B * H reaches kParallelGrain (at the thesis's sizes a
// step is microseconds of work, less than a thread team costs to start).
//
// Same bits as the ops they replace (the loop of ops in
// core/ncgru_recurrence.cpp's ncgru_recurrence_composed and NCGRUCell::step):
// each formula rounds in the ops' order, the gates' sigmoid is the
// elementwise kernel itself, and this file is compiled without floating-point
// contraction (kernels/CMakeLists.txt), so no a * b + c becomes one fused
// multiply-add that the ops would have rounded twice. The README's NC-GRU
// results therefore did not move when the kernels came in.
#include "kernels/ncgru_gates.h"

#include "kernels/cpu/loops.h"
#include "kernels/elementwise.h"
#include "kernels/ncgru_gates_math.h"

namespace nova::cpu {

namespace {

/// Row b of a 2-D operand with unit column stride (null when undefined).
template <typename T>
T* row(const View& v, int64_t b) {
  return v.defined() ? v.data<T>() + b * v.strides()[0] : nullptr;
}

/// Runs body(b) for every row b of a step of B rows of H.
template <typename Body>
void for_rows(int64_t B, int64_t H, Body&& body) {
  parallel_for(B, B > 1 && B * H >= kParallelGrain, body);
}

void check_rows(const char* op, std::initializer_list<const View*> views) {
  for (const View* v : views)
    if (v->defined())
      NOVA_CHECK(v->dim() == 2 ? v->strides()[1] == 1 || v->size(1) <= 1 : v->is_contiguous(),
                 "{}: operands need unit column stride", op);
}

}  // namespace

void ncgru_forward_gates(const View& proj, const View& lin, const View& h, const View& ru, const View& rh) {
  check_rows("ncgru_forward_gates", {&proj, &lin, &h, &ru, &rh});
  dispatch_floating("ncgru_forward_gates", h.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t B = h.size(0), H = h.size(1);
    // three passes, as the ops ran them (add, sigmoid, mul), so that the
    // sigmoid is elementwise sigmoid's own kernel over the same [B, 2H]
    // block: for float32 its Eigen SIMD exp (whose scalar head and tail
    // depend on where the block starts) then gives the ops' bits as well
    for_rows(B, 2 * H, [&](int64_t b) {
      const T *p = row<T>(proj, b), *l = row<T>(lin, b);
      T* r = row<T>(ru, b);
      for (int64_t j = 0; j < 2 * H; ++j) r[j] = p[j] + l[j];
    });
    unary(UnaryKind::Sigmoid, ru, ru, 0, 0);
    for_rows(B, H, [&](int64_t b) {
      const T *r = row<T>(ru, b), *hb = row<T>(h, b);
      T* o = row<T>(rh, b);
      for (int64_t j = 0; j < H; ++j) o[j] = r[j] * hb[j];
    });
  });
}

void ncgru_forward_state(const View& proj, const View& m, const View& b_c, const View& ru, const View& h,
                         const View& z, const View& c, const View& h_new) {
  check_rows("ncgru_forward_state", {&proj, &m, &b_c, &ru, &h, &z, &c, &h_new});
  dispatch_floating("ncgru_forward_state", h.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t B = h.size(0), H = h.size(1);
    const T* bc = b_c.data<T>();
    for_rows(B, H, [&](int64_t b) {
      const T *p = row<T>(proj, b), *mb = row<T>(m, b), *r = row<T>(ru, b),
              *hb = row<T>(h, b);
      T *zb = row<T>(z, b), *cb = row<T>(c, b), *o = row<T>(h_new, b);
      for (int64_t j = 0; j < H; ++j) ncgru_math::forward_state(p, mb, bc, r, hb, zb, cb, o, H, j);
    });
  });
}

void ncgru_backward_candidate(const View& grad_t, const View& dh_next, const View& ru, const View& c,
                              const View& h_prev, const View& z, const View& b_c, const View& g, const View& du,
                              const View& d_bc, const View& d_proj) {
  check_rows("ncgru_backward_candidate", {&grad_t, &dh_next, &ru, &c, &h_prev, &z, &b_c, &g, &du, &d_bc, &d_proj});
  dispatch_floating("ncgru_backward_candidate", c.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t B = c.size(0), H = c.size(1);
    const T* bc = b_c.data<T>();
    for_rows(B, H, [&](int64_t b) {
      const T *gt = row<T>(grad_t, b), *dn = row<T>(dh_next, b), *r = row<T>(ru, b),
              *cb = row<T>(c, b), *hp = row<T>(h_prev, b), *zb = row<T>(z, b);
      T *gb = row<T>(g, b), *dub = row<T>(du, b), *db = row<T>(d_bc, b), *dp = row<T>(d_proj, b);
      for (int64_t j = 0; j < H; ++j) ncgru_math::backward_candidate(gt, dn, r, cb, hp, zb, bc, gb, dub, db, dp, H, j);
    });
  });
}

void ncgru_backward_gates(const View& g, const View& du, const View& d_rh, const View& h_prev, const View& ru,
                          const View& d_proj, const View& dh_part) {
  check_rows("ncgru_backward_gates", {&g, &du, &d_rh, &h_prev, &ru, &d_proj, &dh_part});
  dispatch_floating("ncgru_backward_gates", g.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t B = g.size(0), H = g.size(1);
    for_rows(B, H, [&](int64_t b) {
      const T *gb = row<T>(g, b), *dub = row<T>(du, b), *drh = row<T>(d_rh, b),
              *hp = row<T>(h_prev, b), *r = row<T>(ru, b);
      T *dp = row<T>(d_proj, b), *dh = row<T>(dh_part, b);
      for (int64_t j = 0; j < H; ++j) ncgru_math::backward_gates(gb, dub, drh, hp, r, dp, dh, H, j);
    });
  });
}

}  // namespace nova::cpu
