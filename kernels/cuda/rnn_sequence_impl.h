// kernels/cuda/rnn_sequence_impl.h: the bodies of the persistent GRU / LSTM
// sequence kernels (kernels/cuda/rnn_sequence.h has the contract and the
// design), as plain C++ that nvcc also compiles, written against a "block"
// policy: blk.tid(), blk.threads(), blk.block() (threadIdx.x, blockDim.x,
// blockIdx.x) and blk.sync() (__syncthreads()). kernels/cuda/rnn_sequence.cu
// runs them as CUDA kernels with the real block; tests/test_rnn_sequence_emulation.cpp
// runs them on the CPU with one serial "thread" per block (each phase then
// completes before the next, as __syncthreads makes it on the GPU) and
// compares with the CPU recurrences: the index math, the shared-memory
// layout and its size are tested in every build, with or without a GPU (as
// kernels/cuda/conv_igemm.h does for the convolutions). Races between the
// threads of a block are compute-sanitizer racecheck's part (gpu-check).
//
// Per step, forward: (1) gh = h W_hh^T + b_hh for the block's rows, one
// thread per output (r, k), W_hh^T in shared memory so that the threads of a
// warp read consecutive words; (2) the gate math per element (r, j) with the
// formulas of kernels/rnn_gates_math.h (the per-step kernels' own), h (and
// c) updated in shared memory. Backward, per step from the last: (1) the
// fused gate backward per element, the step's gate gradients into shared
// memory; (2) copy them out (the caller forms dW_hh, db_hh from them) and
// dh_{t-1} = dgates W_hh (+ the GRU's direct z term), W_hh untransposed so
// that the threads read consecutive words again. In a phase, a thread
// writes only the elements it owns (its (r, j) or (r, k)) and reads only
// what the previous phase finished.
//
// `smem` holds W_hh (k H^2 elements) then `rows_per_block` rows of
// row_elems_forward / row_elems_backward H elements. In-block indices are
// int (the shared memory bounds them); offsets into the [T, B, ...] tensors
// are int64.
#pragma once

#include <cstdint>

#include "kernels/rnn_gates_math.h"

namespace nova::cuda::rnn_seq {

/// Shared-memory elements per batch row, beside W_hh (k H^2): forward GRU
/// gh (3H) + h (H); forward LSTM gh (4H) + h + c; backward GRU dgates (3H) +
/// dh + g + dh_direct; backward LSTM dgates (4H) + dh + dc + g_h + g_c.
constexpr int row_elems_forward(int gates) { return gates == 3 ? 4 : 6; }
constexpr int row_elems_backward(int gates) { return gates == 3 ? 6 : 8; }

/// Elements of shared memory of one block: W_hh and `rows` rows of
/// `per_row` H elements.
constexpr int64_t smem_elems(int gates, int64_t H, int64_t rows, int per_row) {
  return gates * H * H + rows * per_row * H;
}

/// Copies W_hh [kH, H] into shared memory transposed, wt[j kH + k] =
/// w[k H + j] (the forward's matvec reads consecutive k across a warp).
template <typename T, typename Blk>
NOVA_HD void load_transposed(const Blk& blk, T* wt, const T* w, int GH, int H) {
  for (int e = blk.tid(); e < GH * H; e += blk.threads()) {
    const int k = e / H, j = e - k * H;
    wt[j * GH + k] = w[e];
  }
}

/// gh[r, k] = b[k] + sum_j h[r, j] wt[j, k] for the block's rows: one thread
/// per output, all in shared memory.
template <typename T, typename Blk>
NOVA_HD void recurrent_matvec(const Blk& blk, T* gh, const T* h, const T* wt, const T* b, int rows, int GH,
                              int H) {
  for (int e = blk.tid(); e < rows * GH; e += blk.threads()) {
    const int r = e / GH, k = e - r * GH;
    const T* hr = h + r * H;
    T acc = b ? b[k] : T(0);
    for (int j = 0; j < H; ++j) acc += hr[j] * wt[j * GH + k];
    gh[e] = acc;
  }
}

/// gru_sequence_forward (rnn_sequence.h) of block blk.block()'s rows.
template <typename T, typename Blk>
NOVA_HD void gru_sequence_forward(const Blk& blk, T* smem, const T* gi, const T* h0, const T* w, const T* bias,
                                  T* out, T* saved, int64_t steps, int B, int H, int rows_per_block) {
  const int GH = 3 * H;
  T* wt = smem;                              // [H, 3H]
  T* gh = wt + GH * H;                        // [rows, 3H]
  T* h = gh + rows_per_block * GH;            // [rows, H]
  const int b0 = blk.block() * rows_per_block;
  const int rows = rows_per_block < B - b0 ? rows_per_block : B - b0;
  load_transposed(blk, wt, w, GH, H);
  for (int e = blk.tid(); e < rows * H; e += blk.threads()) h[e] = h0[int64_t(b0) * H + e];
  blk.sync();
  for (int64_t t = 0; t < steps; ++t) {
    recurrent_matvec(blk, gh, h, wt, bias, rows, GH, H);
    blk.sync();
    for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
      const int r = e / H, j = e - r * H;
      const int64_t row = t * B + b0 + r;  // row of the [T B, .] views
      // reads h[r, j] and gh of row r only, and writes h'[r, j] over h[r, j]
      // (gru_forward reads h[j] before it writes h_new[j]): the next step
      // reads h from shared memory, not back from the output
      rnn_math::gru_forward(gi + row * GH, gh + r * GH, h + r * H, h + r * H, saved + row * 4 * H,
                            int64_t(H), int64_t(j));
      out[row * H + j] = h[e];
    }
    blk.sync();
  }
}

/// lstm_sequence_forward (rnn_sequence.h) of block blk.block()'s rows.
template <typename T, typename Blk>
NOVA_HD void lstm_sequence_forward(const Blk& blk, T* smem, const T* gi, const T* h0, const T* c0, const T* w,
                                   const T* bias, T* hc, T* saved, int64_t steps, int B, int H,
                                   int rows_per_block) {
  const int GH = 4 * H;
  T* wt = smem;                              // [H, 4H]
  T* gh = wt + GH * H;                        // [rows, 4H]
  T* h = gh + rows_per_block * GH;            // [rows, H]
  T* c = h + rows_per_block * H;              // [rows, H]
  const int b0 = blk.block() * rows_per_block;
  const int rows = rows_per_block < B - b0 ? rows_per_block : B - b0;
  load_transposed(blk, wt, w, GH, H);
  for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
    h[e] = h0[int64_t(b0) * H + e];
    c[e] = c0[int64_t(b0) * H + e];
  }
  blk.sync();
  for (int64_t t = 0; t < steps; ++t) {
    recurrent_matvec(blk, gh, h, wt, bias, rows, GH, H);
    blk.sync();
    for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
      const int r = e / H, j = e - r * H;
      const int64_t b = b0 + r, row = t * B + b;
      // c'[r, j] over c[r, j] (lstm_forward reads c[j] before it writes
      // c_new[j]) and h'[r, j] over h[r, j] (not read here)
      rnn_math::lstm_forward(gi + row * GH, gh + r * GH, c + r * H, h + r * H, c + r * H, saved + row * 5 * H,
                             int64_t(H), int64_t(j));
      hc[((2 * t) * B + b) * H + j] = h[e];      // hc[t, 0, b, j]
      hc[((2 * t + 1) * B + b) * H + j] = c[e];  // hc[t, 1, b, j]
    }
    blk.sync();
  }
}

/// gru_sequence_backward (rnn_sequence.h) of block blk.block()'s rows.
template <typename T, typename Blk>
NOVA_HD void gru_sequence_backward(const Blk& blk, T* smem, const T* grad_out, const T* saved, const T* out,
                                   const T* h0, const T* w, T* grad_gi, T* grad_gh, T* grad_h0, int64_t steps,
                                   int B, int H, int rows_per_block) {
  const int GH = 3 * H;
  T* ws = smem;                              // W_hh [3H, H] as stored
  T* dgates = ws + GH * H;                    // [rows, 3H] this step's d gh
  T* dh = dgates + rows_per_block * GH;       // [rows, H] dL/dh_t from step t+1
  T* g = dh + rows_per_block * H;             // [rows, H] dL/dh_t in all
  T* dh_direct = g + rows_per_block * H;      // [rows, H] the z h_{t-1} term
  const int b0 = blk.block() * rows_per_block;
  const int rows = rows_per_block < B - b0 ? rows_per_block : B - b0;
  for (int e = blk.tid(); e < GH * H; e += blk.threads()) ws[e] = w[e];
  for (int e = blk.tid(); e < rows * H; e += blk.threads()) dh[e] = T(0);
  blk.sync();
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t row0 = t * B + b0;
    for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
      const int r = e / H, j = e - r * H;
      const int64_t row = row0 + r;
      const T* h_prev = t > 0 ? out + (row - B) * H : h0 + int64_t(b0 + r) * H;
      g[e] = grad_out[row * H + j] + dh[e];
      // writes element j of its row in grad_gi, dgates, dh_direct only
      rnn_math::gru_backward(g + r * H, saved + row * 4 * H, h_prev, grad_gi + row * GH, dgates + r * GH,
                             dh_direct + r * H, int64_t(H), int64_t(j));
    }
    blk.sync();
    for (int e = blk.tid(); e < rows * GH; e += blk.threads()) grad_gh[row0 * GH + e] = dgates[e];
    for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
      const int r = e / H, j = e - r * H;
      const T* dr = dgates + r * GH;
      T acc = dh_direct[e];
      for (int k = 0; k < GH; ++k) acc += dr[k] * ws[k * H + j];
      dh[e] = acc;  // dL/dh_{t-1} from step t
    }
    blk.sync();
  }
  for (int e = blk.tid(); e < rows * H; e += blk.threads()) grad_h0[int64_t(b0) * H + e] = dh[e];
}

/// lstm_sequence_backward (rnn_sequence.h) of block blk.block()'s rows.
template <typename T, typename Blk>
NOVA_HD void lstm_sequence_backward(const Blk& blk, T* smem, const T* grad_hc, const T* saved, const T* hc,
                                    const T* c0, const T* w, T* grad_gates, T* grad_h0, T* grad_c0,
                                    int64_t steps, int B, int H, int rows_per_block) {
  const int GH = 4 * H;
  T* ws = smem;                              // W_hh [4H, H] as stored
  T* dgates = ws + GH * H;                    // [rows, 4H]
  T* dh = dgates + rows_per_block * GH;       // [rows, H] dL/dh_t from step t+1
  T* dc = dh + rows_per_block * H;            // [rows, H] dL/dc_t from step t+1
  T* gh = dc + rows_per_block * H;            // [rows, H] dL/dh_t in all
  T* gc = gh + rows_per_block * H;            // [rows, H] dL/dc_t in all
  const int b0 = blk.block() * rows_per_block;
  const int rows = rows_per_block < B - b0 ? rows_per_block : B - b0;
  for (int e = blk.tid(); e < GH * H; e += blk.threads()) ws[e] = w[e];
  for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
    dh[e] = T(0);
    dc[e] = T(0);
  }
  blk.sync();
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t row0 = t * B + b0;
    for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
      const int r = e / H, j = e - r * H;
      const int64_t b = b0 + r, row = row0 + r;
      const T* c_prev = t > 0 ? hc + ((2 * (t - 1) + 1) * B + b) * H : c0 + b * H;
      gh[e] = grad_hc[((2 * t) * B + b) * H + j] + dh[e];
      gc[e] = grad_hc[((2 * t + 1) * B + b) * H + j] + dc[e];
      // reads gc[e] before it writes dc[e] (= dL/dc_{t-1}); element j only
      rnn_math::lstm_backward(gh + r * H, gc + r * H, saved + row * 5 * H, c_prev, dgates + r * GH, dc + r * H,
                              int64_t(H), int64_t(j));
    }
    blk.sync();
    for (int e = blk.tid(); e < rows * GH; e += blk.threads()) grad_gates[row0 * GH + e] = dgates[e];
    for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
      const int r = e / H, j = e - r * H;
      const T* dr = dgates + r * GH;
      T acc = T(0);
      for (int k = 0; k < GH; ++k) acc += dr[k] * ws[k * H + j];
      dh[e] = acc;
    }
    blk.sync();
  }
  for (int e = blk.tid(); e < rows * H; e += blk.threads()) {
    grad_h0[int64_t(b0) * H + e] = dh[e];
    grad_c0[int64_t(b0) * H + e] = dc[e];
  }
}

}  // namespace nova::cuda::rnn_seq
