// kernels/cpu/rnn_gates.cpp: the fused GRU / LSTM gate loops (see
// kernels/rnn_gates.h): one pass over the B x H elements of a step, the
// formulas of kernels/rnn_gates_math.h per element. Rows go to OpenMP
// threads only when B * H reaches kParallelGrain: at the thesis's sizes
// (B * H from 672 to 12800) a step is a few microseconds of work, less than
// a thread team costs to start.
#include "kernels/rnn_gates.h"

#include "kernels/cpu/loops.h"
#include "kernels/rnn_gates_math.h"

namespace nova::cpu {

namespace {

bool worth_threads(int64_t B, int64_t H) { return B > 1 && B * H >= kParallelGrain; }

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
    for (int64_t j = 0; j < H; ++j)
      rnn_math::gru_forward(pgi + b * 3 * H, pgh + b * 3 * H, ph + b * H, pout + b * H,
                            ps + b * 4 * H, H, j);
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
    for (int64_t j = 0; j < H; ++j)
      rnn_math::lstm_forward(pgi + b * 4 * H, pgh + b * 4 * H, pc + b * H, ph_new + b * H,
                             pc_new + b * H, ps + b * 5 * H, H, j);
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
