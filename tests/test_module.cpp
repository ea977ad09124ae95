// tests/test_module.cpp: nn::Module (registration, naming, modes, zero_grad,
// in-place conversion, state_dict) and the layers built on it (Sequential,
// Linear, Embedding, Dropout, LayerNorm, BatchNorm1d, activations).
#include <cmath>
#include <memory>

#include "nn/nn.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::nn;
using nova::test::leaf;
using nova::test::max_abs_diff;

namespace {

// A two-level model with a parameter of its own, a buffer, a nested module
// and a Sequential, to check naming and order.
struct Encoder : Module {
  std::shared_ptr<Linear> fc;
  Encoder() : Module("Encoder") { fc = register_module("fc", std::make_shared<Linear>(3, 4)); }
  Tensor forward(const Tensor& x) override { return ops::tanh(fc->forward(x)); }
};

struct Net : Module {
  Tensor scale, steps;
  std::shared_ptr<Encoder> encoder;
  std::shared_ptr<Sequential> head;
  Net() : Module("Net") {
    scale = register_parameter("scale", ones({1}));
    steps = register_buffer("steps", zeros({}, kInt64));
    encoder = register_module("encoder", std::make_shared<Encoder>());
    head = register_module("head", std::make_shared<Sequential>(std::make_shared<Linear>(4, 5),
                                                                 std::make_shared<ReLU>(),
                                                                 std::make_shared<Linear>(5, 2)));
  }
  Tensor forward(const Tensor& x) override { return head->forward(encoder->forward(x)) * scale; }
};

std::vector<std::string> names_of(const NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& item : named) out.push_back(item.first);
  return out;
}

// Linear -> Tanh -> Linear in float64, as gradcheck needs.
std::shared_ptr<Sequential> small_mlp() {
  auto net = std::make_shared<Sequential>(std::make_shared<Linear>(3, 4), std::make_shared<Tanh>(),
                                          std::make_shared<Linear>(4, 2));
  net->to(kFloat64);
  return net;
}

}  // namespace

TEST_CASE("named_parameters uses dotted names in registration order, self first", "[nn]") {
  Net net;
  std::vector<std::string> expected = {"scale",         "encoder.fc.weight", "encoder.fc.bias",
                                       "head.0.weight", "head.0.bias",       "head.2.weight",
                                       "head.2.bias"};
  REQUIRE(names_of(net.named_parameters()) == expected);
  auto params = net.parameters();
  REQUIRE(params.size() == 7);
  // parameters() hands out the very tensors the modules hold
  REQUIRE(params[1].impl() == net.encoder->fc->weight.impl());
  REQUIRE(params[6].impl() == net.head->at<Linear>(2)->bias.impl());
  REQUIRE(params[3].shape() == Shape{5, 4});
  for (const Tensor& p : params) REQUIRE(p.requires_grad());

  REQUIRE(names_of(net.named_parameters(/*recurse=*/false)) == std::vector<std::string>{"scale"});
  REQUIRE(names_of(net.named_buffers()) == std::vector<std::string>{"steps"});
  REQUIRE(net.children().size() == 2);
  REQUIRE(net.named_children()[1].first == "head");
}

TEST_CASE("state_dict holds parameters then buffers of each module, children after", "[nn]") {
  Sequential seq({std::make_shared<Linear>(2, 3), std::make_shared<BatchNorm1d>(3)});
  std::vector<std::string> expected = {"0.weight",         "0.bias",          "1.weight",
                                       "1.bias",           "1.running_mean",  "1.running_var",
                                       "1.num_batches_tracked"};
  StateDict state = seq.state_dict();
  REQUIRE(state.keys() == expected);
  // detached views of the live memory, like PyTorch's
  REQUIRE_FALSE(state.at("0.weight").requires_grad());
  REQUIRE(state.at("0.weight").storage() == seq.at<Linear>(0)->weight.storage());
  REQUIRE(state.at("1.num_batches_tracked").dtype() == kInt64);
}

TEST_CASE("registering a taken, empty or dotted name throws naming the module", "[nn]") {
  Module m("Custom");
  m.register_parameter("w", zeros({2}));
  REQUIRE_THROWS_NOVA(m.register_parameter("w", zeros({2})), "Custom: parameter name 'w' is already registered");
  REQUIRE_THROWS_NOVA(m.register_buffer("w", zeros({2})), "already registered");
  REQUIRE_THROWS_NOVA(m.register_module("w", std::make_shared<ReLU>()), "already registered");
  REQUIRE_THROWS_NOVA(m.register_parameter("a.b", zeros({2})), "must not contain '.'");
  REQUIRE_THROWS_NOVA(m.register_parameter("", zeros({2})), "must not be empty");
  REQUIRE_THROWS_NOVA(m.register_parameter("i", zeros({2}, kInt64)), "cannot require gradients");
  REQUIRE_THROWS_NOVA(m.forward(zeros({2})), "Custom: forward(x) is not defined");
}

TEST_CASE("a non-leaf registered as a parameter becomes a leaf", "[nn]") {
  Module m;
  Tensor x = leaf({3});
  Tensor p = m.register_parameter("p", x * 2.0);
  REQUIRE(p.is_leaf());
  REQUIRE(p.requires_grad());
  Tensor frozen = m.register_parameter("frozen", zeros({3}), /*requires_grad=*/false);
  REQUIRE_FALSE(frozen.requires_grad());
}

TEST_CASE("train and eval reach every submodule", "[nn]") {
  Net net;
  REQUIRE(net.is_training());
  REQUIRE(net.head->at<Linear>(0)->is_training());
  net.eval();
  REQUIRE_FALSE(net.is_training());
  REQUIRE_FALSE(net.encoder->fc->is_training());
  REQUIRE_FALSE(net.head->at<Linear>(2)->is_training());
  net.train();
  REQUIRE(net.encoder->fc->is_training());
  int visited = 0;
  net.apply([&](Module&) { ++visited; });
  REQUIRE(visited == 7);  // Net, Encoder, its Linear, Sequential and its 3 modules
}

TEST_CASE("zero_grad drops grads or zeroes them in place", "[nn]") {
  Net net;
  Tensor x = randn({5, 3});
  net.forward(x).sum().backward();
  for (const Tensor& p : net.parameters()) REQUIRE(p.grad().defined());

  SECTION("set_to_none = true drops them") {
    net.zero_grad();
    for (const Tensor& p : net.parameters()) REQUIRE_FALSE(p.grad().defined());
  }
  SECTION("set_to_none = false zeroes the same memory") {
    Tensor g = net.encoder->fc->weight.grad();
    REQUIRE(g.abs().sum().item() > 0);
    net.zero_grad(/*set_to_none=*/false);
    for (const Tensor& p : net.parameters()) {
      REQUIRE(p.grad().defined());
      REQUIRE(p.grad().abs().sum().item() == 0.0);
    }
    REQUIRE(g.abs().sum().item() == 0.0);  // zeroed in place, not replaced
    // and the next backward accumulates from zero again
    net.forward(x).sum().backward();
    Tensor fresh = net.encoder->fc->weight.grad();
    net.zero_grad();
    net.forward(x).sum().backward();
    REQUIRE(max_abs_diff(fresh, net.encoder->fc->weight.grad()) < 1e-6);
  }
}

TEST_CASE("a state_dict loaded into a fresh module gives identical outputs", "[nn]") {
  Net a, b;
  Tensor x = randn({4, 3});
  REQUIRE(max_abs_diff(a.forward(x), b.forward(x)) > 1e-3);  // different random inits
  Tensor member = b.encoder->fc->weight;
  b.load_state_dict(a.state_dict());
  REQUIRE(max_abs_diff(a.forward(x), b.forward(x)) == 0.0);
  // values were copied into the existing tensors
  REQUIRE(member.impl() == b.encoder->fc->weight.impl());
  REQUIRE(member.requires_grad());
  REQUIRE(member.storage() != a.encoder->fc->weight.storage());
}

TEST_CASE("load_state_dict refuses bad states, naming the key, and changes nothing", "[nn]") {
  Net net;
  Tensor before = net.encoder->fc->weight.clone();
  StateDict good = Net().state_dict();

  auto without = [&](const std::string& dropped) {
    StateDict out;
    for (const auto& [k, v] : good)
      if (k != dropped) out.insert(k, v);
    return out;
  };
  auto replaced = [&](const std::string& key, const Tensor& value) {
    StateDict out = good;
    out.set(key, value);
    return out;
  };

  SECTION("missing key") {
    REQUIRE_THROWS_NOVA(net.load_state_dict(without("head.2.bias")), "missing keys 'head.2.bias'");
    net.load_state_dict(without("head.2.bias"), /*strict=*/false);  // the rest loads
    REQUIRE(max_abs_diff(net.encoder->fc->weight, good.at("encoder.fc.weight")) == 0.0);
    return;
  }
  SECTION("unexpected key") {
    StateDict extra = good;
    extra.insert("head.3.weight", zeros({2}));
    REQUIRE_THROWS_NOVA(net.load_state_dict(extra), "unexpected keys 'head.3.weight'");
  }
  SECTION("shape mismatch names the key and both shapes") {
    REQUIRE_THROWS_NOVA(net.load_state_dict(replaced("head.0.weight", zeros({4, 5}))),
                        "'head.0.weight': shape mismatch: the state has [4, 5], this module has [5, 4]");
    // also when not strict: a wrong shape is never silently skipped
    REQUIRE_THROWS_NOVA(net.load_state_dict(replaced("head.0.weight", zeros({4, 5})), false),
                        "shape mismatch");
  }
  SECTION("dtype mismatch") {
    REQUIRE_THROWS_NOVA(net.load_state_dict(replaced("scale", ones({1}, kFloat64))),
                        "'scale': dtype mismatch: the state has float64 [1], this module has float32 [1]");
  }
  // the failing key came after encoder.fc.weight, yet nothing was copied
  REQUIRE(max_abs_diff(net.encoder->fc->weight, before) == 0.0);
}

TEST_CASE("StateDict keeps insertion order and refuses duplicate keys", "[nn]") {
  StateDict s{{"b", zeros({1})}, {"a", ones({2})}};
  REQUIRE(s.keys() == std::vector<std::string>{"b", "a"});
  REQUIRE(s.at("a").shape() == Shape{2});
  REQUIRE(s.find("c") == nullptr);
  REQUIRE_THROWS_NOVA(s.insert("a", zeros({1})), "duplicate key 'a'");
  REQUIRE_THROWS_NOVA(s.at("c"), "no key 'c'");
}

TEST_CASE("Linear computes x W^T + b", "[nn]") {
  Linear lin(3, 2);
  {
    NoGradGuard no_grad;
    lin.weight.copy_(from_vector<float>({1, 2, 3, -1, 0, 4}, {2, 3}));
    lin.bias.copy_(from_vector<float>({0.5f, -2}));
  }
  Tensor x = from_vector<float>({1, 0, -1, 2, 1, 1}, {2, 3});
  // row 0: [1-3+0.5, -1-4-2] ; row 1: [2+2+3+0.5, -2+4-2]
  std::vector<float> expected = {-1.5f, -7.0f, 7.5f, 0.0f};
  REQUIRE(lin(x).to_vector<float>() == expected);

  Linear no_bias(3, 2, /*bias=*/false);
  REQUIRE_FALSE(no_bias.bias.defined());
  REQUIRE(no_bias.parameters().size() == 1);
  REQUIRE_THROWS_NOVA(lin(zeros({2, 4})), "linear");
}

TEST_CASE("Linear starts inside PyTorch's bound 1/sqrt(in_features)", "[nn]") {
  Linear lin(50, 40);
  double bound = 1.0 / std::sqrt(50.0);
  for (float w : lin.weight.to_vector<float>()) REQUIRE(std::abs(w) <= bound);
  for (float b : lin.bias.to_vector<float>()) REQUIRE(std::abs(b) <= bound);
  // and fills the range: U(-b, b) has std b / sqrt(3)
  double var = lin.weight.pow(2.0).mean().item();
  REQUIRE(std::sqrt(var) == Approx(bound / std::sqrt(3.0)).epsilon(0.05));
}

TEST_CASE("a Linear-Tanh-Linear gradient matches finite differences in float64", "[nn][grad]") {
  auto net = small_mlp();
  Tensor x = leaf({5, 3});
  std::vector<Tensor> inputs = {x};
  for (const Tensor& p : net->parameters()) {
    REQUIRE(p.dtype() == kFloat64);
    inputs.push_back(p);
  }
  REQUIRE(inputs.size() == 5);
  REQUIRE_GRADCHECK([&] { return net->forward(x); }, inputs);
  // through a transposed view of the input as well
  Tensor xt = leaf({3, 5});
  REQUIRE_GRADCHECK([&] { return net->forward(xt.t()); }, std::vector<Tensor>{xt});
}

TEST_CASE("every layer gives the output shape PyTorch gives", "[nn]") {
  Tensor x = randn({4, 6});
  REQUIRE(Linear(6, 3)(randn({2, 4, 6})).shape() == Shape{2, 4, 3});
  REQUIRE(Linear(6, 3)(randn({6})).shape() == Shape{3});
  REQUIRE(ReLU()(x).shape() == x.shape());
  REQUIRE(LeakyReLU(0.2)(x).shape() == x.shape());
  REQUIRE(ELU()(x).shape() == x.shape());
  REQUIRE(Sigmoid()(x).shape() == x.shape());
  REQUIRE(Tanh()(x).shape() == x.shape());
  REQUIRE(Softplus()(x).shape() == x.shape());
  REQUIRE(ModReLU(6)(x).shape() == x.shape());
  REQUIRE(Dropout(0.3)(x).shape() == x.shape());
  REQUIRE(LayerNorm(6)(x).shape() == x.shape());
  REQUIRE(LayerNorm(Shape{4, 6})(randn({2, 4, 6})).shape() == Shape{2, 4, 6});
  REQUIRE(BatchNorm1d(6)(x).shape() == x.shape());
  REQUIRE(BatchNorm1d(4)(randn({2, 4, 5})).shape() == Shape{2, 4, 5});
  Tensor idx = from_vector<int64_t>({0, 3, 1, 1, 2, 0}, {2, 3});
  REQUIRE(Embedding(5, 7)(idx).shape() == Shape{2, 3, 7});
  Sequential seq({std::make_shared<Linear>(6, 8), std::make_shared<ReLU>(), std::make_shared<Linear>(8, 2)});
  REQUIRE(seq(x).shape() == Shape{4, 2});
  REQUIRE(seq.size() == 3);
  REQUIRE_THROWS_NOVA(seq[3], "index 3 out of range");
  REQUIRE_THROWS_NOVA(seq.at<Linear>(1), "module 1 is a ReLU");
  REQUIRE_THROWS_NOVA(BatchNorm1d(6)(randn({4, 5})), "BatchNorm1d: expected 6 channels");
  REQUIRE_THROWS_NOVA(ModReLU(5)(x), "ModReLU: expected input [..., 5], got [4, 6]");
}

TEST_CASE("activation modules match their ops", "[nn]") {
  Tensor x = randn({3, 5});
  REQUIRE(max_abs_diff(LeakyReLU(0.2)(x), ops::leaky_relu(x, 0.2)) == 0.0);
  REQUIRE(max_abs_diff(ELU(0.7)(x), ops::elu(x, 0.7)) == 0.0);
  REQUIRE(max_abs_diff(Softplus(2.0, 10.0)(x), ops::softplus(x, 2.0, 10.0)) == 0.0);
  ModReLU mod(5);
  REQUIRE(max_abs_diff(mod(x), ops::modrelu(x, mod.b)) == 0.0);
  for (float b : mod.b.to_vector<float>()) REQUIRE(std::abs(b) <= 0.1f);
  REQUIRE(mod.named_parameters()[0].first == "b");
}

TEST_CASE("Embedding starts N(0, 1) with a zero padding row that gets no gradient", "[nn]") {
  Embedding emb(400, 50, /*padding_idx=*/2);
  REQUIRE(emb.weight.select(0, 2).abs().sum().item() == 0.0);
  double std = std::sqrt(emb.weight.pow(2.0).mean().item());
  REQUIRE(std == Approx(1.0).epsilon(0.03));
  Tensor idx = from_vector<int64_t>({1, 2, 2, 0});
  Tensor y = emb(idx);
  REQUIRE(max_abs_diff(y.select(0, 0), emb.weight.select(0, 1)) == 0.0);
  y.sum().backward();
  REQUIRE(emb.weight.grad().select(0, 2).abs().sum().item() == 0.0);
  REQUIRE(emb.weight.grad().select(0, 1).sum().item() == Approx(50.0));
  REQUIRE_THROWS_NOVA(Embedding(4, 3, 4), "padding_idx must be -1 (none) or in [0, 4)");
}

TEST_CASE("BatchNorm1d updates its running statistics in training and uses them in eval", "[nn]") {
  BatchNorm1d bn(3);
  Tensor x = uniform({8, 3}, -1.0, 3.0, kFloat32);
  Tensor mean = x.mean({0});
  // unbiased batch variance feeds the running estimate
  Tensor var = (x - mean).pow(2.0).sum({0}) / 7.0;
  bn(x);
  REQUIRE(bn.num_batches_tracked.item() == 1.0);
  REQUIRE(max_abs_diff(bn.running_mean, mean * 0.1) < 1e-6);
  REQUIRE(max_abs_diff(bn.running_var, var * 0.1 + 0.9) < 1e-5);

  {
    NoGradGuard no_grad;
    bn.weight.copy_(from_vector<float>({1.0f, 2.0f, -0.5f}));
    bn.bias.copy_(from_vector<float>({0.0f, 1.0f, 0.25f}));
  }
  bn.eval();
  Tensor z = randn({5, 3});
  Tensor expected = (z - bn.running_mean) / (bn.running_var + 1e-5).sqrt() * bn.weight + bn.bias;
  REQUIRE(max_abs_diff(bn(z), expected) < 1e-5);
  REQUIRE(bn.num_batches_tracked.item() == 1.0);  // eval does not count batches
  REQUIRE(max_abs_diff(bn.running_mean, mean * 0.1) < 1e-6);
}

TEST_CASE("BatchNorm1d without momentum keeps the plain average of batch statistics", "[nn]") {
  BatchNorm1d bn(2, 1e-5, std::nullopt);
  Tensor a = randn({6, 2}), b = randn({6, 2}) + 2.0;
  bn(a);
  bn(b);
  REQUIRE(bn.num_batches_tracked.item() == 2.0);
  REQUIRE(max_abs_diff(bn.running_mean, (a.mean({0}) + b.mean({0})) / 2.0) < 1e-5);

  BatchNorm1d untracked(2, 1e-5, 0.1, /*affine=*/false, /*track_running_stats=*/false);
  REQUIRE(untracked.state_dict().empty());
  untracked.eval();  // with no running statistics, eval normalises by the batch
  REQUIRE(std::abs(untracked(b).mean({0}).abs().sum().item()) < 1e-5);
}

TEST_CASE("Dropout zeroes elements in training and passes x through in eval", "[nn]") {
  Dropout drop(0.5);
  Tensor x = ones({1000});
  Tensor y = drop(x);
  double zeros_seen = ops::eq(y, 0.0).to(kFloat32).sum().item();
  REQUIRE(zeros_seen > 400);
  REQUIRE(zeros_seen < 600);
  REQUIRE(y.sum().item() == Approx(2.0 * (1000 - zeros_seen)));  // kept ones scaled by 2
  drop.eval();
  REQUIRE(max_abs_diff(drop(x), x) == 0.0);
}

TEST_CASE("to(kFloat64) converts in place, so member handles stay valid", "[nn]") {
  Net net;
  Tensor weight = net.encoder->fc->weight;  // a handle taken before the conversion
  std::vector<float> before = weight.to_vector<float>();
  Tensor x = randn({2, 3});
  net.forward(x).sum().backward();
  net.to(kFloat64);

  REQUIRE(weight.dtype() == kFloat64);
  REQUIRE(weight.impl() == net.parameters()[1].impl());
  REQUIRE(weight.requires_grad());
  REQUIRE(weight.is_leaf());
  REQUIRE(weight.grad().dtype() == kFloat64);
  auto after = weight.to_vector<double>();
  for (size_t i = 0; i < before.size(); ++i) REQUIRE(after[i] == double(before[i]));
  REQUIRE(net.steps.dtype() == kInt64);  // integer buffers keep their dtype
  for (const Tensor& p : net.parameters()) REQUIRE(p.dtype() == kFloat64);

  // the model runs and trains in float64
  Tensor y = net.forward(x.to(kFloat64));
  REQUIRE(y.dtype() == kFloat64);
  net.zero_grad();
  y.sum().backward();
  REQUIRE(weight.grad().dtype() == kFloat64);
  net.to(kCPU);  // already there: a no-op
  REQUIRE_THROWS_NOVA(net.to(kInt64), "floating dtypes only");
}

TEST_CASE("str() prints the module tree as PyTorch's repr", "[nn]") {
  Sequential seq({std::make_shared<Linear>(4, 8), std::make_shared<Tanh>(),
                  std::make_shared<Sequential>(std::make_shared<Dropout>(0.25))});
  std::string expected =
      "Sequential(\n"
      "  (0): Linear(in_features=4, out_features=8, bias=true)\n"
      "  (1): Tanh()\n"
      "  (2): Sequential(\n"
      "    (0): Dropout(p=0.25)\n"
      "  )\n"
      ")";
  REQUIRE(seq.str() == expected);
}
