// tests/test_rnn.cpp: the recurrent layers of nn/rnn.h. GRU and LSTM (2
// layers, time-major and batch_first, with and without an initial state)
// and GRUCell / LSTMCell against PyTorch in float64: the outputs, the last
// states and the gradients of a weighted sum of them with respect to the
// input, the initial state and every parameter, to 1e-10
// (tests/reference/make_rnn_refs.py wrote the files). Also: PyTorch's
// parameter names, shapes and init range, no-bias modules, gradcheck through
// time, and the argument errors.
#include <cmath>
#include <string>
#include <vector>

#include "nn/checkpoint.h"
#include "nn/rnn.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

std::string reference_path(const std::string& name) {
  return std::string(NOVA_REFERENCE_DIR) + "/" + name + ".safetensors";
}

/// |got - want| <= tol * max(1, max |want|) elementwise.
void require_close(const Tensor& got, const Tensor& want, const std::string& what, double tol = 1e-10) {
  INFO(what << ": got " << got.shape().str() << " want " << want.shape().str());
  REQUIRE(got.shape() == want.shape());
  std::vector<double> g = values(got), w = values(want);
  double scale = 1, worst = 0;
  size_t at = 0;
  for (double v : w) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < g.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= worst)) worst = std::abs(g[i] - w[i]), at = i;
  INFO("worst element " << at << " got " << g[at] << " want " << w[at] << " (|diff| " << worst << ")");
  REQUIRE(worst <= tol * scale);
}

/// Runs `model` (float64, the file's weights loaded) on the file's input and
/// compares outputs, states and gradients. `run(x, h0, c0)` returns the
/// module's RNNOutput.
template <typename Model, typename Run>
void check_sequence_reference(const std::string& name, bool lstm, Model& model, const Run& run) {
  INFO("reference " << name);
  StateDict ref = nn::load_checkpoint(reference_path(name));
  model.to(kFloat64);
  model.load_state_dict(sub_state(ref, "model"));  // strict: PyTorch's names, one to one
  Tensor x = ref.at("input.x").clone().requires_grad_();
  Tensor h0 = ref.at("input.h0").clone().requires_grad_();
  Tensor c0 = lstm ? ref.at("input.c0").clone().requires_grad_() : Tensor();
  nn::RNNOutput out = run(x, h0, c0);
  require_close(out.output, ref.at("output.output"), "output");
  require_close(out.h_n, ref.at("output.h_n"), "h_n");
  if (lstm) require_close(out.c_n, ref.at("output.c_n"), "c_n");
  Tensor loss = ops::sum(out.output * ref.at("input.w_out")) + ops::sum(out.h_n * ref.at("input.w_h"));
  if (lstm) loss = loss + ops::sum(out.c_n * ref.at("input.w_c"));
  std::vector<std::string> names{"x", "h0"};
  std::vector<Tensor> inputs{x, h0};
  if (lstm) names.push_back("c0"), inputs.push_back(c0);
  for (const auto& [key, p] : model.named_parameters()) names.push_back(key), inputs.push_back(p);
  std::vector<Tensor> grads = autograd::grad({loss}, inputs);
  for (size_t i = 0; i < names.size(); ++i) require_close(grads[i], ref.at("grad." + names[i]), "grad." + names[i]);
}

/// The cell's state_dict in the file (cell.weight_ih, ...), without the
/// cell's inputs and outputs stored beside it.
StateDict cell_state(const StateDict& ref) {
  StateDict s;
  for (const char* key : {"weight_ih", "weight_hh", "bias_ih", "bias_hh"}) s.insert(key, ref.at(std::string("cell.") + key));
  return s;
}

}  // namespace

TEST_CASE("GRU matches PyTorch: outputs, states and gradients", "[rnn]") {
  nn::GRU gru(4, 5, 2);
  check_sequence_reference("gru_ref", false, gru, [&](const Tensor& x, const Tensor& h0, const Tensor&) {
    return gru.forward(x, h0);
  });
  StateDict ref = nn::load_checkpoint(reference_path("gru_ref"));
  NoGradGuard no_grad;
  require_close(gru.forward(ref.at("input.x")), ref.at("output.zero_state"), "output with zero state");
  nn::GRU bf(4, 5, 2, true, /*batch_first=*/true);
  bf.to(kFloat64);
  bf.load_state_dict(sub_state(ref, "model"));
  nn::RNNOutput o = bf.forward(ops::transpose(ref.at("input.x"), 0, 1), ref.at("input.h0"));
  require_close(o.output, ref.at("output.bf_output"), "batch_first output");
  require_close(o.h_n, ref.at("output.h_n"), "batch_first h_n");
}

TEST_CASE("LSTM matches PyTorch: outputs, states and gradients", "[rnn]") {
  nn::LSTM lstm(4, 5, 2);
  check_sequence_reference("lstm_ref", true, lstm, [&](const Tensor& x, const Tensor& h0, const Tensor& c0) {
    return lstm.forward(x, h0, c0);
  });
  StateDict ref = nn::load_checkpoint(reference_path("lstm_ref"));
  NoGradGuard no_grad;
  require_close(lstm.forward(ref.at("input.x")), ref.at("output.zero_state"), "output with zero state");
  nn::LSTM bf(4, 5, 2, true, /*batch_first=*/true);
  bf.to(kFloat64);
  bf.load_state_dict(sub_state(ref, "model"));
  nn::RNNOutput o = bf.forward(ops::transpose(ref.at("input.x"), 0, 1), ref.at("input.h0"), ref.at("input.c0"));
  require_close(o.output, ref.at("output.bf_output"), "batch_first output");
  require_close(o.c_n, ref.at("output.c_n"), "batch_first c_n");
}

TEST_CASE("GRUCell and LSTMCell match PyTorch", "[rnn]") {
  {
    StateDict ref = nn::load_checkpoint(reference_path("gru_ref"));
    nn::GRUCell cell(4, 5);
    cell.to(kFloat64);
    cell.load_state_dict(cell_state(ref));  // strict: PyTorch's names
    require_close(cell.forward(ref.at("cell.x"), ref.at("cell.h")), ref.at("cell.out_h"), "GRUCell h'");
  }
  {
    StateDict ref = nn::load_checkpoint(reference_path("lstm_ref"));
    nn::LSTMCell cell(4, 5);
    cell.to(kFloat64);
    cell.load_state_dict(cell_state(ref));  // strict: PyTorch's names
    auto [h, c] = cell.forward(ref.at("cell.x"), ref.at("cell.h"), ref.at("cell.c"));
    require_close(h, ref.at("cell.out_h"), "LSTMCell h'");
    require_close(c, ref.at("cell.out_c"), "LSTMCell c'");
  }
}

TEST_CASE("recurrent modules have PyTorch's parameter names, shapes and init range", "[rnn]") {
  nn::LSTM lstm(3, 8, 2);
  std::vector<std::string> names;
  for (const auto& [key, p] : lstm.named_parameters()) {
    names.push_back(key);
    for (double v : values(p)) REQUIRE(std::abs(v) <= 1.0 / std::sqrt(8.0));
  }
  REQUIRE(names == std::vector<std::string>{"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"});
  REQUIRE(lstm.weight_ih[0].shape() == Shape{32, 3});
  REQUIRE(lstm.weight_ih[1].shape() == Shape{32, 8});
  REQUIRE(lstm.bias_hh[1].shape() == Shape{32});
  nn::GRU gru(3, 8, 1, /*bias=*/false);
  REQUIRE(gru.parameters().size() == 2);
  REQUIRE(gru.weight_hh[0].shape() == Shape{24, 8});
  nn::GRUCell cell(3, 8);
  names.clear();
  for (const auto& [key, p] : cell.named_parameters()) names.push_back(key);
  REQUIRE(names == std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"});
  REQUIRE(nn::LSTMCell(3, 8, false).parameters().size() == 2);
}

TEST_CASE("GRU and LSTM without bias run and give the gradient of every parameter", "[rnn][grad]") {
  nn::GRU gru(2, 3, 2, /*bias=*/false, /*batch_first=*/true);
  nn::LSTM lstm(2, 3, 2, /*bias=*/false, /*batch_first=*/true);
  Tensor x = randn({4, 6, 2});
  ops::sum(gru.forward(x)).backward();
  ops::sum(lstm.forward(x)).backward();
  for (Tensor& p : gru.parameters()) REQUIRE(p.grad().defined());
  for (Tensor& p : lstm.parameters()) REQUIRE(p.grad().defined());
  REQUIRE(gru.forward(x).shape() == Shape{4, 6, 3});
}

TEST_CASE("GRU and LSTM grads through time match finite differences", "[rnn][grad]") {
  nn::GRU gru(2, 3, 2);
  nn::LSTM lstm(2, 3, 2, true, true);
  gru.to(kFloat64);
  lstm.to(kFloat64);
  Tensor x = leaf({4, 2, 2}), h0 = leaf({2, 2, 3}), c0 = leaf({2, 2, 3});
  std::vector<Tensor> gru_inputs{x, h0, gru.weight_hh[0], gru.bias_ih[1]};
  REQUIRE_GRADCHECK([&] {
    nn::RNNOutput o = gru.forward(x, h0);
    return ops::cat({ops::flatten(o.output), ops::flatten(o.h_n)});
  }, gru_inputs);
  Tensor x_bf = leaf({2, 4, 2});  // batch_first: [B, T, I]
  std::vector<Tensor> lstm_inputs{x_bf, h0, c0, lstm.weight_ih[1], lstm.bias_hh[0]};
  REQUIRE_GRADCHECK([&] {
    nn::RNNOutput o = lstm.forward(x_bf, h0, c0);
    return ops::cat({ops::flatten(o.output), ops::flatten(o.h_n), ops::flatten(o.c_n)});
  }, lstm_inputs);
}

TEST_CASE("recurrent modules reject bad inputs and states", "[rnn]") {
  nn::GRU gru(4, 5, 2);
  REQUIRE_THROWS_NOVA(gru.forward(randn({6, 3, 3})), "GRU: input must be 3-D [T, B, input_size] with input_size 4, got [6, 3, 3]");
  REQUIRE_THROWS_NOVA(gru.forward(randn({6, 4})), "GRU: input must be 3-D");
  REQUIRE_THROWS_NOVA(gru.forward(randn({6, 3, 4}), randn({1, 3, 5})),
                      "GRU: h0 must be [num_layers, B, hidden_size] = [2, 3, 5], got [1, 3, 5]");
  nn::LSTM lstm(4, 5, 1, true, true);
  REQUIRE_THROWS_NOVA(lstm.forward(randn({3, 6, 5})), "LSTM: input must be 3-D [B, T, input_size]");
  REQUIRE_THROWS_NOVA(lstm.forward(randn({3, 6, 4}), Tensor(), randn({1, 6, 5})),
                      "LSTM: c0 must be [num_layers, B, hidden_size] = [1, 3, 5], got [1, 6, 5]");
  REQUIRE_THROWS_NOVA(lstm.forward(randn({3, 0, 4})), "LSTM: the input has no time steps");
  REQUIRE_THROWS_NOVA(nn::GRU(0, 5), "GRU: input_size, hidden_size and num_layers must be >= 1");
  nn::GRUCell cell(4, 5);
  REQUIRE_THROWS_NOVA(cell.forward(randn({3, 5})), "GRUCell: input must be [B, input_size = 4], got [3, 5]");
  REQUIRE_THROWS_NOVA(cell.forward(randn({3, 4}), randn({2, 5})), "GRUCell: h must be [B, hidden_size] = [3, 5], got [2, 5]");
  nn::LSTMCell lcell(4, 5);
  REQUIRE_THROWS_NOVA(lcell.forward(randn({3, 4}), Tensor(), randn({3, 4})), "LSTMCell: c must be [B, hidden_size] = [3, 5], got [3, 4]");
}
