// nn/rnn.h: the recurrent layers GRU and LSTM, as sequence modules (several
// layers, batch_first, an optional initial state) and as single-step cells,
// with PyTorch's equations, gate order (GRU r, z, n; LSTM i, f, g, o) and
// parameter names, so that a PyTorch state_dict loads one to one:
//   sequence  weight_ih_l{k} [G H, I_k], weight_hh_l{k} [G H, H],
//             bias_ih_l{k} [G H], bias_hh_l{k} [G H]  (I_0 = input_size,
//             I_k = hidden_size above; G = 3 for GRU, 4 for LSTM)
//   cell      weight_ih, weight_hh, bias_ih, bias_hh
// All initialised U(-1/sqrt(H), 1/sqrt(H)) as PyTorch does.
//
// How a layer runs: one autograd node per layer, ops::gru_layer /
// ops::lstm_layer (core/rnn_layer.h). On the CPU with H <= 256 the whole
// forward, and the whole backward through time, are one kernel call each,
// step t's input projection formed inside the loop
// (kernels/cpu/rnn_sequence.h). Otherwise the input projections of all T
// steps are one matmul, [T B, I] x W_ih^T + b_ih, before the loop, and the
// loop is ops::gru_recurrence / ops::lstm_recurrence (core/rnn_gates.h): per
// step one matmul h W_hh^T + b_hh and one fused gate kernel (or, on CUDA
// with small H, one persistent kernel for all steps). The cells call
// ops::gru_gates / ops::lstm_gates directly.
#pragma once

#include <utility>
#include <vector>

#include "nn/module.h"

namespace nova::nn {

/// What GRU and LSTM return: every hidden state of the last layer and the
/// last state of every layer.
struct RNNOutput {
  Tensor output;  // [T, B, H] ([B, T, H] with batch_first)
  Tensor h_n;     // [num_layers, B, H]
  Tensor c_n;     // [num_layers, B, H], LSTM only (undefined for GRU)
};

/// What GRU and LSTM share: sizes, options and the per-layer parameters.
class RNNBase : public Module {
 public:
  int64_t input_size, hidden_size, num_layers;
  bool bias, batch_first;
  // per layer k: the parameters named weight_ih_l{k}, ... (biases undefined
  // when bias is false)
  std::vector<Tensor> weight_ih, weight_hh, bias_ih, bias_hh;

  std::string extra_repr() const override;

 protected:
  /// gates: 3 (GRU) or 4 (LSTM) blocks of hidden_size rows per weight.
  RNNBase(const char* name, int64_t gates, int64_t input_size, int64_t hidden_size,
          int64_t num_layers, bool bias, bool batch_first);
  /// x as [T, B, I] (time-major), checked; `op` names the module in errors.
  Tensor time_major(const char* op, const Tensor& x) const;
  /// An initial state [num_layers, B, H]: `s` checked, or zeros if undefined.
  Tensor initial_state(const char* op, const char* what, const Tensor& s, const Tensor& x_tm) const;
  /// [T, B, H] back to the caller's layout.
  Tensor caller_layout(const Tensor& out_tm) const;
};

/// Multi-layer GRU (torch.nn.GRU without dropout or bidirectional):
///   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
///   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
///   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///   h' = (1 - z) * n + z * h
class GRU : public RNNBase {
 public:
  GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bias = true,
      bool batch_first = false);
  /// x [T, B, input_size] ([B, T, input_size] with batch_first), h0
  /// [num_layers, B, H] or undefined (zeros). Returns output and h_n.
  RNNOutput forward(const Tensor& x, const Tensor& h0);
  /// forward(x, zeros): the output only.
  Tensor forward(const Tensor& x) override;
};

/// Multi-layer LSTM (torch.nn.LSTM without dropout, projections or
/// bidirectional):
///   i, f, o = sigmoid(W_i* x + b_i* + W_h* h + b_h*), g = tanh(...)
///   c' = f * c + i * g,  h' = o * tanh(c')
class LSTM : public RNNBase {
 public:
  LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers = 1, bool bias = true,
       bool batch_first = false);
  /// x as for GRU; h0, c0 [num_layers, B, H] or undefined (zeros). Returns
  /// output, h_n and c_n.
  RNNOutput forward(const Tensor& x, const Tensor& h0, const Tensor& c0);
  /// forward(x, zeros, zeros): the output only.
  Tensor forward(const Tensor& x) override;
};

/// One GRU step (torch.nn.GRUCell).
class GRUCell : public Module {
 public:
  GRUCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  /// x [B, input_size], h [B, hidden_size] or undefined (zeros) -> h' [B, H].
  Tensor forward(const Tensor& x, const Tensor& h);
  /// forward(x, zeros).
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t input_size, hidden_size;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;  // biases undefined without bias
};

/// One LSTM step (torch.nn.LSTMCell).
class LSTMCell : public Module {
 public:
  LSTMCell(int64_t input_size, int64_t hidden_size, bool bias = true);
  /// x [B, input_size], h and c [B, hidden_size] or undefined (zeros) ->
  /// {h', c'}.
  std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& h, const Tensor& c);
  /// forward(x, zeros, zeros).first, h'.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t input_size, hidden_size;
  Tensor weight_ih, weight_hh, bias_ih, bias_hh;
};

}  // namespace nova::nn
