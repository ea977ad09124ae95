// nn/rnn.cpp: GRU, LSTM, GRUCell and LSTMCell (see rnn.h).
#include "nn/rnn.h"

#include <cmath>
#include <string>

#include "core/factory.h"
#include "core/index.h"
#include "core/matmul.h"
#include "core/rnn_gates.h"
#include "core/rnn_layer.h"
#include "core/views.h"
#include "nn/init.h"

namespace nova::nn {

namespace {

/// PyTorch's reset_parameters of every recurrent module: all weights and
/// biases from U(-1/sqrt(H), 1/sqrt(H)).
Tensor uniform_parameter(const Shape& shape, int64_t hidden_size) {
  const double bound = hidden_size > 0 ? 1.0 / std::sqrt(double(hidden_size)) : 0.0;
  return init::uniform_(empty(shape), -bound, bound);
}

/// state, or zeros [B, H] like x when undefined; checked against [B, H].
Tensor cell_state(const char* op, const char* what, const Tensor& state, const Tensor& x,
                  int64_t hidden_size) {
  if (!state.defined()) return zeros({x.size(0), hidden_size}, x.dtype(), x.device());
  NOVA_CHECK(state.shape() == Shape({x.size(0), hidden_size}), "{}: {} must be [B, hidden_size] = {}, got {}",
             op, what, Shape({x.size(0), hidden_size}).str(), state.shape().str());
  return state;
}

void check_cell_input(const char* op, const Tensor& x, int64_t input_size) {
  check_defined(op, x);
  NOVA_CHECK(x.dim() == 2 && x.size(1) == input_size, "{}: input must be [B, input_size = {}], got {}",
             op, input_size, x.shape().str());
}

}  // namespace

// ---- RNNBase ----

RNNBase::RNNBase(const char* name, int64_t gates, int64_t input_size_, int64_t hidden_size_,
                 int64_t num_layers_, bool bias_, bool batch_first_)
    : Module(name), input_size(input_size_), hidden_size(hidden_size_), num_layers(num_layers_),
      bias(bias_), batch_first(batch_first_) {
  NOVA_CHECK(input_size >= 1 && hidden_size >= 1 && num_layers >= 1,
             "{}: input_size, hidden_size and num_layers must be >= 1, got {}, {}, {}", name,
             input_size, hidden_size, num_layers);
  const int64_t H = hidden_size;
  for (int64_t k = 0; k < num_layers; ++k) {
    const std::string s = "_l" + std::to_string(k);
    const int64_t in = k == 0 ? input_size : H;
    // PyTorch's order: weight_ih, weight_hh, bias_ih, bias_hh per layer
    weight_ih.push_back(register_parameter("weight_ih" + s, uniform_parameter({gates * H, in}, H)));
    weight_hh.push_back(register_parameter("weight_hh" + s, uniform_parameter({gates * H, H}, H)));
    if (bias) {
      bias_ih.push_back(register_parameter("bias_ih" + s, uniform_parameter({gates * H}, H)));
      bias_hh.push_back(register_parameter("bias_hh" + s, uniform_parameter({gates * H}, H)));
    } else {
      bias_ih.emplace_back();
      bias_hh.emplace_back();
    }
  }
}

std::string RNNBase::extra_repr() const {
  return fmt::format("{}, {}, num_layers={}, bias={}, batch_first={}", input_size, hidden_size,
                     num_layers, bias, batch_first);
}

Tensor RNNBase::time_major(const char* op, const Tensor& x) const {
  check_defined(op, x);
  NOVA_CHECK(x.dim() == 3 && x.size(2) == input_size,
             "{}: input must be 3-D {} with input_size {}, got {}", op,
             batch_first ? "[B, T, input_size]" : "[T, B, input_size]", input_size, x.shape().str());
  Tensor x_tm = batch_first ? ops::transpose(x, 0, 1) : x;
  NOVA_CHECK(x_tm.size(0) >= 1, "{}: the input has no time steps ({})", op, x.shape().str());
  return x_tm;
}

Tensor RNNBase::initial_state(const char* op, const char* what, const Tensor& s,
                              const Tensor& x_tm) const {
  const Shape want{num_layers, x_tm.size(1), hidden_size};
  if (!s.defined()) return zeros(want, x_tm.dtype(), x_tm.device());
  NOVA_CHECK(s.shape() == want, "{}: {} must be [num_layers, B, hidden_size] = {}, got {}", op,
             what, want.str(), s.shape().str());
  return s;
}

Tensor RNNBase::caller_layout(const Tensor& out_tm) const {
  return batch_first ? ops::transpose(out_tm, 0, 1) : out_tm;
}

// ---- GRU ----

GRU::GRU(int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias, bool batch_first)
    : RNNBase("GRU", 3, input_size, hidden_size, num_layers, bias, batch_first) {}

RNNOutput GRU::forward(const Tensor& x, const Tensor& h0) {
  Tensor layer_in = time_major("GRU", x);
  const Tensor h_init = initial_state("GRU", "h0", h0, layer_in);
  const int64_t T = layer_in.size(0);
  std::vector<Tensor> last;
  for (int64_t k = 0; k < num_layers; ++k) {
    // the input projection and the recurrence as one node (core/rnn_layer.h)
    layer_in = ops::gru_layer(layer_in, ops::select(h_init, 0, k), weight_ih[k], bias_ih[k], weight_hh[k],
                              bias_hh[k]);  // [T, B, H]
    last.push_back(ops::select(layer_in, 0, T - 1));
  }
  return {caller_layout(layer_in), ops::stack(last, 0), Tensor()};
}

Tensor GRU::forward(const Tensor& x) { return forward(x, Tensor()).output; }

// ---- LSTM ----

LSTM::LSTM(int64_t input_size, int64_t hidden_size, int64_t num_layers, bool bias, bool batch_first)
    : RNNBase("LSTM", 4, input_size, hidden_size, num_layers, bias, batch_first) {}

RNNOutput LSTM::forward(const Tensor& x, const Tensor& h0, const Tensor& c0) {
  Tensor layer_in = time_major("LSTM", x);
  const Tensor h_init = initial_state("LSTM", "h0", h0, layer_in);
  const Tensor c_init = initial_state("LSTM", "c0", c0, layer_in);
  const int64_t T = layer_in.size(0);
  std::vector<Tensor> last_h, last_c;
  for (int64_t k = 0; k < num_layers; ++k) {
    // hc [T, 2, B, H]: hc[t, 0] = h_t, hc[t, 1] = c_t
    const Tensor hc = ops::lstm_layer(layer_in, ops::select(h_init, 0, k), ops::select(c_init, 0, k),
                                      weight_ih[k], bias_ih[k], weight_hh[k], bias_hh[k]);
    layer_in = ops::select(hc, 1, 0);  // [T, B, H]
    const Tensor hc_last = ops::select(hc, 0, T - 1);
    last_h.push_back(ops::select(hc_last, 0, 0));
    last_c.push_back(ops::select(hc_last, 0, 1));
  }
  return {caller_layout(layer_in), ops::stack(last_h, 0), ops::stack(last_c, 0)};
}

Tensor LSTM::forward(const Tensor& x) { return forward(x, Tensor(), Tensor()).output; }

// ---- cells ----

GRUCell::GRUCell(int64_t input_size_, int64_t hidden_size_, bool bias)
    : Module("GRUCell"), input_size(input_size_), hidden_size(hidden_size_) {
  NOVA_CHECK(input_size >= 1 && hidden_size >= 1,
             "GRUCell: input_size and hidden_size must be >= 1, got {}, {}", input_size, hidden_size);
  const int64_t H = hidden_size;
  weight_ih = register_parameter("weight_ih", uniform_parameter({3 * H, input_size}, H));
  weight_hh = register_parameter("weight_hh", uniform_parameter({3 * H, H}, H));
  if (bias) {
    bias_ih = register_parameter("bias_ih", uniform_parameter({3 * H}, H));
    bias_hh = register_parameter("bias_hh", uniform_parameter({3 * H}, H));
  }
}

Tensor GRUCell::forward(const Tensor& x, const Tensor& h_in) {
  check_cell_input("GRUCell", x, input_size);
  const Tensor h = cell_state("GRUCell", "h", h_in, x, hidden_size);
  return ops::gru_gates(ops::linear(x, weight_ih, bias_ih), ops::linear(h, weight_hh, bias_hh), h);
}

Tensor GRUCell::forward(const Tensor& x) { return forward(x, Tensor()); }

std::string GRUCell::extra_repr() const {
  return fmt::format("{}, {}, bias={}", input_size, hidden_size, bias_ih.defined());
}

LSTMCell::LSTMCell(int64_t input_size_, int64_t hidden_size_, bool bias)
    : Module("LSTMCell"), input_size(input_size_), hidden_size(hidden_size_) {
  NOVA_CHECK(input_size >= 1 && hidden_size >= 1,
             "LSTMCell: input_size and hidden_size must be >= 1, got {}, {}", input_size, hidden_size);
  const int64_t H = hidden_size;
  weight_ih = register_parameter("weight_ih", uniform_parameter({4 * H, input_size}, H));
  weight_hh = register_parameter("weight_hh", uniform_parameter({4 * H, H}, H));
  if (bias) {
    bias_ih = register_parameter("bias_ih", uniform_parameter({4 * H}, H));
    bias_hh = register_parameter("bias_hh", uniform_parameter({4 * H}, H));
  }
}

std::pair<Tensor, Tensor> LSTMCell::forward(const Tensor& x, const Tensor& h_in, const Tensor& c_in) {
  check_cell_input("LSTMCell", x, input_size);
  const Tensor h = cell_state("LSTMCell", "h", h_in, x, hidden_size);
  const Tensor c = cell_state("LSTMCell", "c", c_in, x, hidden_size);
  return ops::lstm_gates(ops::linear(x, weight_ih, bias_ih), ops::linear(h, weight_hh, bias_hh), c);
}

Tensor LSTMCell::forward(const Tensor& x) { return forward(x, Tensor(), Tensor()).first; }

std::string LSTMCell::extra_repr() const {
  return fmt::format("{}, {}, bias={}", input_size, hidden_size, bias_ih.defined());
}

}  // namespace nova::nn
