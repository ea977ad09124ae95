// kernels/cpu/rnn_gates.cpp: the fused GRU / LSTM gate loops (see
// kernels/rnn_gates.h): one pass over the B x H elements of a step, the
// formulas of kernels/rnn_gates_math.h per element. Rows go to OpenMP
// threads only when B * H reaches kParallelGrain: at the thesis's sizes
// (B * H from 672 to 12800) a step is a few microseconds of work, less than
// a thread team costs to start.
//
// float32 forward rows take Eigen's SIMD exp and tanh (as elementwise
// sigmoid / tanh do, kernels/cpu/elementwise.cpp), a row of H at a time:
// one libm call per element was about 15% of a whole GRU / LSTM training
// step at B 128, H 100 (perf, bench_rnn_step). Same formulas, within a few
// ulp; float64 and the backward (no transcendental: it reads the saved
// activations) run the shared per-element code.
#include "kernels/rnn_gates.h"

#include <type_traits>

// GCC 12 reports Eigen's AVX-512 float tanh (its masked blend of an
// intrinsic's undefined lanes) as maybe-uninitialized wherever it is
// inlined; a false positive (kernels/cpu/elementwise.cpp gets the same).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>

#include "kernels/cpu/loops.h"
#include "kernels/rnn_gates_math.h"

namespace nova::cpu {

namespace {

bool worth_threads(int64_t B, int64_t H) { return B > 1 && B * H >= kParallelGrain; }

using Row = Eigen::Map<Eigen::ArrayXf>;
using ConstRow = Eigen::Map<const Eigen::ArrayXf>;

/// 1 / (1 + exp(-v)) over a row (exp(-v) = inf below v = -88 gives 0, where
/// the exact value is a float denormal).
template <typename Expr>
auto sigmoid_row(const Expr& v) {
  return (1.0f + (-v).exp()).inverse();
}

/// GRU forward of one float row (see rnn_math::gru_forward): r, z, n and
/// gh_n go straight into the saved row, which is also the scratch.
void gru_row_simd(const float* gi, const float* gh, const float* h, float* h_new, float* saved, int64_t H) {
  Row r(saved, H), z(saved + H, H), n(saved + 2 * H, H), gh_n(saved + 3 * H, H);
  r = sigmoid_row(ConstRow(gi, H) + ConstRow(gh, H));
  z = sigmoid_row(ConstRow(gi + H, H) + ConstRow(gh + H, H));
  gh_n = ConstRow(gh + 2 * H, H);
  n = (ConstRow(gi + 2 * H, H) + r * gh_n).tanh();
  Row(h_new, H) = n + z * (ConstRow(h, H) - n);
}

/// LSTM forward of one float row (see rnn_math::lstm_forward).
void lstm_row_simd(const float* gi, const float* gh, const float* c, float* h_new, float* c_new, float* saved,
                   int64_t H) {
  Row i(saved, H), f(saved + H, H), g(saved + 2 * H, H), o(saved + 3 * H, H), tc(saved + 4 * H, H);
  i = sigmoid_row(ConstRow(gi, H) + ConstRow(gh, H));
  f = sigmoid_row(ConstRow(gi + H, H) + ConstRow(gh + H, H));
  g = (ConstRow(gi + 2 * H, H) + ConstRow(gh + 2 * H, H)).tanh();
  o = sigmoid_row(ConstRow(gi + 3 * H, H) + ConstRow(gh + 3 * H, H));
  Row cn(c_new, H);
  cn = f * ConstRow(c, H) + i * g;
  tc = cn.tanh();
  Row(h_new, H) = o * tc;
}

template <typename T>
void gru_forward_typed(const View& gi, const View& gh, const View& h, const View& h_new,
                       const View& saved) {
  const int64_t B = h.size(0), H = h.size(1);
  const T* pgi = gi.data<T>();
  const T* pgh = gh.data<T>();
  const T* ph = h.data<T>();
  T* pout = h_new.data<T>();
  T* ps = saved.data<T>();
  parallel_for(B, worth_threads(B, H), [&](int64_t b) {
    if constexpr (std::is_same_v<T, float>) {
      gru_row_simd(pgi + b * 3 * H, pgh + b * 3 * H, ph + b * H, pout + b * H, ps + b * 4 * H, H);
    } else {
      for (int64_t j = 0; j < H; ++j)
        rnn_math::gru_forward(pgi + b * 3 * H, pgh + b * 3 * H, ph + b * H, pout + b * H,
                              ps + b * 4 * H, H, j);
    }
  });
}

template <typename T>
void gru_backward_typed(const View& grad_h_new, const View& saved, const View& h,
                        const View& grad_gi, const View& grad_gh, const View& grad_h) {
  const int64_t B = h.size(0), H = h.size(1);
  const T* pg = grad_h_new.data<T>();
  const T* ps = saved.data<T>();
  const T* ph = h.data<T>();
  T* pgi = grad_gi.data_or_null<T>();
  T* pgh = grad_gh.data_or_null<T>();
  T* pdh = grad_h.data_or_null<T>();
  parallel_for(B, worth_threads(B, H), [&](int64_t b) {
    T* gi_row = pgi ? pgi + b * 3 * H : nullptr;
    T* gh_row = pgh ? pgh + b * 3 * H : nullptr;
    T* dh_row = pdh ? pdh + b * H : nullptr;
    for (int64_t j = 0; j < H; ++j)
      rnn_math::gru_backward(pg + b * H, ps + b * 4 * H, ph + b * H, gi_row, gh_row, dh_row, H, j);
  });
}

template <typename T>
void lstm_forward_typed(const View& gi, const View& gh, const View& c, const View& out,
                        const View& saved) {
  const int64_t B = c.size(0), H = c.size(1);
  const T* pgi = gi.data<T>();
  const T* pgh = gh.data<T>();
  const T* pc = c.data<T>();
  T* ph_new = out.data<T>();     // out[0] = h_new
  T* pc_new = ph_new + B * H;    // out[1] = c_new
  T* ps = saved.data<T>();
  parallel_for(B, worth_threads(B, H), [&](int64_t b) {
    if constexpr (std::is_same_v<T, float>) {
      lstm_row_simd(pgi + b * 4 * H, pgh + b * 4 * H, pc + b * H, ph_new + b * H, pc_new + b * H,
                    ps + b * 5 * H, H);
    } else {
      for (int64_t j = 0; j < H; ++j)
        rnn_math::lstm_forward(pgi + b * 4 * H, pgh + b * 4 * H, pc + b * H, ph_new + b * H,
                               pc_new + b * H, ps + b * 5 * H, H, j);
    }
  });
}

template <typename T>
void lstm_backward_typed(const View& grad_out, const View& saved, const View& c,
                         const View& grad_gates, const View& grad_c) {
  const int64_t B = c.size(0), H = c.size(1);
  const T* pgh = grad_out.data<T>();
  const T* pgc = pgh + B * H;
  const T* ps = saved.data<T>();
  const T* pc = c.data<T>();
  T* pgates = grad_gates.data_or_null<T>();
  T* pdc = grad_c.data_or_null<T>();
  parallel_for(B, worth_threads(B, H), [&](int64_t b) {
    T* gates_row = pgates ? pgates + b * 4 * H : nullptr;
    T* dc_row = pdc ? pdc + b * H : nullptr;
    for (int64_t j = 0; j < H; ++j)
      rnn_math::lstm_backward(pgh + b * H, pgc + b * H, ps + b * 5 * H, pc + b * H, gates_row,
                              dc_row, H, j);
  });
}

}  // namespace

void gru_gates_forward(const View& gi, const View& gh, const View& h, const View& h_new,
                       const View& saved) {
  dispatch_floating("gru_gates", h.dtype(), [&](auto tag) {
    gru_forward_typed<decltype(tag)>(gi, gh, h, h_new, saved);
  });
}

void gru_gates_backward(const View& grad_h_new, const View& saved, const View& h,
                        const View& grad_gi, const View& grad_gh, const View& grad_h) {
  dispatch_floating("gru_gates", h.dtype(), [&](auto tag) {
    gru_backward_typed<decltype(tag)>(grad_h_new, saved, h, grad_gi, grad_gh, grad_h);
  });
}

void lstm_gates_forward(const View& gi, const View& gh, const View& c, const View& out,
                        const View& saved) {
  dispatch_floating("lstm_gates", c.dtype(), [&](auto tag) {
    lstm_forward_typed<decltype(tag)>(gi, gh, c, out, saved);
  });
}

void lstm_gates_backward(const View& grad_out, const View& saved, const View& c,
                         const View& grad_gates, const View& grad_c) {
  dispatch_floating("lstm_gates", c.dtype(), [&](auto tag) {
    lstm_backward_typed<decltype(tag)>(grad_out, saved, c, grad_gates, grad_c);
  });
}

}  // namespace nova::cpu
#pragma GCC diagnostic pop
