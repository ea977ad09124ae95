// tests/test_rnn_sequence_emulation.cpp: the bodies of the persistent CUDA
// GRU / LSTM sequence kernels (kernels/cuda/rnn_sequence_impl.h), run on the
// CPU with one serial "thread" per block, against the CPU recurrences
// (ops::gru_recurrence / ops::lstm_recurrence, forward and autograd
// gradients). One thread walks each phase of a step to its end before the
// next, which is what __syncthreads guarantees on the GPU, so this checks
// the kernels' index math, their shared-memory layout and its size (the
// buffer is exactly smem_elems() long and filled with NaN for every block:
// a read of something not yet written shows up as NaN) in every build.
// Races between real threads are racecheck's part (tools/gpu-check.sh).
#include <cmath>
#include <limits>
#include <tuple>
#include <vector>

#include "kernels/cuda/rnn_sequence_impl.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
namespace seq = nova::cuda::rnn_seq;

namespace {

/// One block of one thread: each phase runs to its end before the next.
struct SerialBlock {
  int b = 0;
  int tid() const { return 0; }
  int threads() const { return 1; }
  int block() const { return b; }
  void sync() const {}
};

/// Runs body(block, smem) for every block of ceil(B / rows) with a fresh
/// NaN-filled shared memory of exactly `elems` elements.
template <typename T, typename F>
void for_blocks(int64_t B, int rows, int64_t elems, F body) {
  std::vector<T> smem;
  for (int b = 0; int64_t(b) * rows < B; ++b) {
    smem.assign(size_t(elems), std::numeric_limits<T>::quiet_NaN());
    body(SerialBlock{b}, smem.data());
  }
}

/// |a - b| <= tol * max(1, |a|) elementwise, both brought to float64.
void require_close(const Tensor& want, const Tensor& got, double tol) {
  REQUIRE(want.shape() == got.shape());
  const auto a = want.contiguous().to_vector<double>(), b = got.contiguous().to_vector<double>();
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / std::max(1.0, std::abs(a[i])));
  INFO("worst relative error " << worst << ", bound " << tol);
  REQUIRE(worst <= tol);
}

/// dW_hh and db_hh from the kernels' per-step gate gradients, as core's
/// weight_grads forms them: sum_t dgh_t^T h_{t-1}, sum of all rows.
std::pair<Tensor, Tensor> weight_grads(const Tensor& dgh, const Tensor& h_prev) {
  const int64_t rows = dgh.size(0) * dgh.size(1);
  const Tensor d2 = ops::reshape(dgh, {rows, dgh.size(2)});
  return {ops::matmul(ops::transpose(d2, 0, 1), ops::reshape(h_prev, {rows, h_prev.size(2)})), ops::sum(d2, {0})};
}

template <typename T>
void check_gru(int64_t steps, int B, int H, int rows, bool bias, double tol) {
  const DType dt = dtype_of<T>();
  const double s = 1.0 / std::sqrt(double(H));
  Tensor gi = uniform({steps, B, 3 * H}, -2, 2, dt).requires_grad_();
  Tensor h0 = uniform({B, H}, -1, 1, dt).requires_grad_();
  Tensor w = uniform({3 * H, H}, -s, s, dt).requires_grad_();
  Tensor b = bias ? uniform({3 * H}, -s, s, dt).requires_grad_() : Tensor();
  const Tensor want = ops::gru_recurrence(gi, h0, w, b);
  const Tensor g = uniform({steps, B, H}, -1, 1, dt);
  want.backward(g);

  Tensor out = zeros({steps, B, H}, dt), saved = zeros({steps, B, 4 * H}, dt);
  for_blocks<T>(B, rows, seq::smem_elems(3, H, rows, seq::row_elems_forward(3)), [&](const SerialBlock& blk, T* smem) {
    seq::gru_sequence_forward(blk, smem, gi.data<T>(), h0.data<T>(), w.data<T>(), bias ? b.data<T>() : nullptr,
                              out.data<T>(), saved.data<T>(), steps, B, H, rows);
  });
  require_close(want.detach(), out, tol);

  Tensor dgi = zeros({steps, B, 3 * H}, dt), dgh = zeros({steps, B, 3 * H}, dt), dh0 = zeros({B, H}, dt);
  for_blocks<T>(B, rows, seq::smem_elems(3, H, rows, seq::row_elems_backward(3)), [&](const SerialBlock& blk, T* smem) {
    seq::gru_sequence_backward(blk, smem, g.data<T>(), saved.data<T>(), out.data<T>(), h0.data<T>(), w.data<T>(),
                               dgi.data<T>(), dgh.data<T>(), dh0.data<T>(), steps, B, H, rows);
  });
  require_close(gi.grad(), dgi, tol);
  require_close(h0.grad(), dh0, tol);
  const Tensor h_prev = ops::cat({ops::unsqueeze(h0.detach(), 0), ops::narrow(out, 0, 0, steps - 1)}, 0);
  const auto [dw, db] = weight_grads(dgh, h_prev);
  require_close(w.grad(), dw, tol);
  if (bias) require_close(b.grad(), db, tol);
}

template <typename T>
void check_lstm(int64_t steps, int B, int H, int rows, bool bias, double tol) {
  const DType dt = dtype_of<T>();
  const double s = 1.0 / std::sqrt(double(H));
  Tensor gi = uniform({steps, B, 4 * H}, -2, 2, dt).requires_grad_();
  Tensor h0 = uniform({B, H}, -1, 1, dt).requires_grad_();
  Tensor c0 = uniform({B, H}, -1, 1, dt).requires_grad_();
  Tensor w = uniform({4 * H, H}, -s, s, dt).requires_grad_();
  Tensor b = bias ? uniform({4 * H}, -s, s, dt).requires_grad_() : Tensor();
  const Tensor want = ops::lstm_recurrence(gi, h0, c0, w, b);
  const Tensor g = uniform({steps, 2, B, H}, -1, 1, dt);
  want.backward(g);

  Tensor hc = zeros({steps, 2, B, H}, dt), saved = zeros({steps, B, 5 * H}, dt);
  for_blocks<T>(B, rows, seq::smem_elems(4, H, rows, seq::row_elems_forward(4)), [&](const SerialBlock& blk, T* smem) {
    seq::lstm_sequence_forward(blk, smem, gi.data<T>(), h0.data<T>(), c0.data<T>(), w.data<T>(),
                               bias ? b.data<T>() : nullptr, hc.data<T>(), saved.data<T>(), steps, B, H, rows);
  });
  require_close(want.detach(), hc, tol);

  Tensor dg = zeros({steps, B, 4 * H}, dt), dh0 = zeros({B, H}, dt), dc0 = zeros({B, H}, dt);
  for_blocks<T>(B, rows, seq::smem_elems(4, H, rows, seq::row_elems_backward(4)), [&](const SerialBlock& blk, T* smem) {
    seq::lstm_sequence_backward(blk, smem, g.data<T>(), saved.data<T>(), hc.data<T>(), c0.data<T>(), w.data<T>(),
                                dg.data<T>(), dh0.data<T>(), dc0.data<T>(), steps, B, H, rows);
  });
  require_close(gi.grad(), dg, tol);
  require_close(h0.grad(), dh0, tol);
  require_close(c0.grad(), dc0, tol);
  const Tensor h_prev =
      ops::cat({ops::unsqueeze(h0.detach(), 0), ops::select(ops::narrow(hc, 0, 0, steps - 1), 1, 0)}, 0);
  const auto [dw, db] = weight_grads(dg, h_prev);
  require_close(w.grad(), dw, tol);
  if (bias) require_close(b.grad(), db, tol);
}

}  // namespace

TEST_CASE("persistent rnn kernel bodies, emulated on the CPU, match the CPU recurrences", "[rnn_sequence]") {
  // (T, B, H, rows per block): T 1, batch 1, one row per block, several rows
  // per block with the last block partial (B not a multiple), one block for
  // the whole batch
  for (auto [T, B, H, rows] : std::vector<std::tuple<int64_t, int, int, int>>{
           {1, 1, 1, 1}, {1, 3, 7, 1}, {5, 7, 6, 3}, {6, 5, 4, 2}, {3, 8, 5, 8}, {12, 4, 33, 1}}) {
    for (bool bias : {true, false}) {
      INFO("T=" << T << " B=" << B << " H=" << H << " rows per block " << rows << (bias ? " with" : " without")
                << " b_hh");
      check_gru<double>(T, B, H, rows, bias, 1e-12);
      check_lstm<double>(T, B, H, rows, bias, 1e-12);
      check_gru<float>(T, B, H, rows, bias, 1e-4);
      check_lstm<float>(T, B, H, rows, bias, 1e-4);
    }
  }
}

TEST_CASE("persistent rnn kernels: shared memory per block", "[rnn_sequence]") {
  // the size rule of kernels/cuda/rnn_sequence.h, at H100/H200's opt-in
  // limit of 227 KiB per block: the largest H whose backward (the larger
  // footprint) fits with one row
  const int64_t limit = 232448;
  auto max_h = [&](int gates, int64_t elem) {
    const int per_row = std::max(seq::row_elems_forward(gates), seq::row_elems_backward(gates));
    int64_t H = 0;
    while (elem * seq::smem_elems(gates, H + 1, 1, per_row) <= limit) ++H;
    return H;
  };
  CHECK(max_h(3, 4) == 138);  // GRU float32: the thesis's GRU 50-118 fit
  CHECK(max_h(4, 4) == 119);  // LSTM float32: 42-90 fit
  CHECK(max_h(3, 8) == 97);
  CHECK(max_h(4, 8) == 84);
  CHECK(seq::row_elems_backward(3) >= seq::row_elems_forward(3));
  CHECK(seq::row_elems_backward(4) >= seq::row_elems_forward(4));
}
