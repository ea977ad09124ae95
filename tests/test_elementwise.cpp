// tests/test_elementwise.cpp: every elementwise op against a scalar float64
// reference, float64 gradchecks (plain, broadcast, non-contiguous), second
// derivatives, and error messages. One OpCase table drives the unary sweep.
#include <cmath>
#include <functional>

#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Inputs kept away from kinks (0 for abs/relu, the clamp bounds) and outside
/// each op's domain boundary.
enum class Domain { AwayFromZero, Positive, AboveMinusOne };

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> reference;
  Domain domain;
};

double sigmoid_ref(double v) { return 1 / (1 + std::exp(-v)); }

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", ops::neg, [](double v) { return -v; }, Domain::AwayFromZero},
      {"abs", ops::abs, [](double v) { return std::abs(v); }, Domain::AwayFromZero},
      {"exp", ops::exp, [](double v) { return std::exp(v); }, Domain::AwayFromZero},
      {"log", ops::log, [](double v) { return std::log(v); }, Domain::Positive},
      {"log1p", ops::log1p, [](double v) { return std::log1p(v); }, Domain::AboveMinusOne},
      {"sqrt", ops::sqrt, [](double v) { return std::sqrt(v); }, Domain::Positive},
      {"rsqrt", ops::rsqrt, [](double v) { return 1 / std::sqrt(v); }, Domain::Positive},
      {"square", ops::square, [](double v) { return v * v; }, Domain::AwayFromZero},
      {"pow 3", [](const Tensor& x) { return ops::pow(x, 3.0); }, [](double v) { return v * v * v; },
       Domain::AwayFromZero},
      {"pow -0.5", [](const Tensor& x) { return ops::pow(x, -0.5); },
       [](double v) { return std::pow(v, -0.5); }, Domain::Positive},
      {"sin", ops::sin, [](double v) { return std::sin(v); }, Domain::AwayFromZero},
      {"cos", ops::cos, [](double v) { return std::cos(v); }, Domain::AwayFromZero},
      {"relu", ops::relu, [](double v) { return v > 0 ? v : 0; }, Domain::AwayFromZero},
      {"leaky_relu", [](const Tensor& x) { return ops::leaky_relu(x, 0.2); },
       [](double v) { return v > 0 ? v : 0.2 * v; }, Domain::AwayFromZero},
      {"elu", [](const Tensor& x) { return ops::elu(x, 1.5); },
       [](double v) { return v > 0 ? v : 1.5 * (std::exp(v) - 1); }, Domain::AwayFromZero},
      {"sigmoid", ops::sigmoid, sigmoid_ref, Domain::AwayFromZero},
      {"tanh", ops::tanh, [](double v) { return std::tanh(v); }, Domain::AwayFromZero},
      {"softplus", [](const Tensor& x) { return ops::softplus(x, 2.0); },
       [](double v) { return std::log1p(std::exp(2 * v)) / 2; }, Domain::AwayFromZero},
      {"clamp", [](const Tensor& x) { return ops::clamp(x, -0.5, 0.7); },
       [](double v) { return std::min(std::max(v, -0.5), 0.7); }, Domain::AwayFromZero},
      {"add scalar", [](const Tensor& x) { return x + 2.5; }, [](double v) { return v + 2.5; },
       Domain::AwayFromZero},
      {"mul scalar", [](const Tensor& x) { return x * -3.0; }, [](double v) { return v * -3; },
       Domain::AwayFromZero},
      {"rsub scalar", [](const Tensor& x) { return 1.0 - x; }, [](double v) { return 1 - v; },
       Domain::AwayFromZero},
      {"rdiv scalar", [](const Tensor& x) { return 2.0 / x; }, [](double v) { return 2 / v; },
       Domain::Positive},
  };
}

/// Random values in the domain; for clamp also away from its bounds.
Tensor sample(const Shape& shape, Domain domain, DType dtype) {
  Tensor u = uniform(shape, 0.0, 1.0, kFloat64);
  std::vector<double> v = u.to_vector<double>();
  for (double& e : v) {
    switch (domain) {
      case Domain::AwayFromZero: e = (e < 0.5 ? -1 : 1) * (0.1 + 3.0 * std::abs(e - 0.5)); break;
      case Domain::Positive: e = 0.2 + 2 * e; break;
      case Domain::AboveMinusOne: e = -0.8 + 2 * e; break;
    }
    if (std::abs(e + 0.5) < 0.02 || std::abs(e - 0.7) < 0.02) e += 0.05;  // clamp bounds
  }
  return from_vector(v, shape, dtype);
}

}  // namespace

TEST_CASE("unary ops match their float64 reference", "[elementwise]") {
  for (const auto& c : unary_cases()) {
    for (DType dt : {kFloat32, kFloat64}) {
      INFO(c.name << " " << dtype_name(dt));
      Tensor x = sample({3, 5}, c.domain, dt);
      Tensor y = c.op(x);
      REQUIRE(y.shape() == x.shape());
      REQUIRE(y.dtype() == dt);
      auto xv = x.to_vector<double>(), yv = y.to_vector<double>();
      for (size_t i = 0; i < xv.size(); ++i) {
        double want = c.reference(xv[i]);
        REQUIRE(yv[i] == Approx(want).epsilon(dt == kFloat32 ? 1e-5 : 1e-12).margin(1e-6));
      }
    }
  }
}

TEST_CASE("unary ops pass gradcheck on contiguous and strided inputs", "[elementwise][grad]") {
  for (const auto& c : unary_cases()) {
    INFO(c.name);
    Tensor x = sample({4, 3}, c.domain, kFloat64).requires_grad_();
    REQUIRE_GRADCHECK([&] { return c.op(x); }, {x});
    // a transposed view and a strided slice of the leaf
    REQUIRE_GRADCHECK([&] { return c.op(x.t()); }, {x});
    REQUIRE_GRADCHECK([&] { return c.op(x.slice(0, 0, 4, 2)); }, {x});
  }
}

TEST_CASE("smooth unary ops have correct second derivatives", "[elementwise][higher-order]") {
  for (const auto& c : unary_cases()) {
    std::string name = c.name;
    if (name == "abs" || name == "relu" || name == "leaky_relu" || name == "clamp") continue;
    INFO(c.name);
    Tensor x = sample({5}, c.domain, kFloat64).requires_grad_();
    auto r = gradgradcheck([&] { return c.op(x); }, {x});
    INFO(r.report);
    REQUIRE(r.ok);
  }
}

TEST_CASE("sigmoid and softplus stay finite for large inputs", "[elementwise]") {
  Tensor x = from_vector<float>({-1000.f, -50.f, 0.f, 50.f, 1000.f});
  auto s = ops::sigmoid(x).to_vector<float>();
  REQUIRE(s == std::vector<float>{0.f, s[1], 0.5f, 1.f, 1.f});
  REQUIRE(s[1] >= 0.f);
  auto sp = ops::softplus(x).to_vector<float>();
  REQUIRE(sp[0] == 0.f);
  REQUIRE(sp[4] == 1000.f);
  Tensor big = from_vector<double>({30.0, 800.0}).requires_grad_();
  ops::sum(ops::softplus(big)).backward();
  REQUIRE(big.grad().to_vector<double>() == std::vector<double>{1.0, 1.0});
}

TEST_CASE("sign has no gradient and relu has gradient 0 below zero", "[elementwise][grad]") {
  Tensor x = from_vector<double>({-2.0, 3.0}).requires_grad_();
  REQUIRE(ops::sign(x).to_vector<double>() == std::vector<double>{-1, 1});
  ops::sum(ops::relu(x) + ops::sign(x)).backward();
  REQUIRE(x.grad().to_vector<double>() == std::vector<double>{0, 1});
}

TEST_CASE("binary ops broadcast like NumPy and match the reference", "[elementwise]") {
  Tensor a = from_vector<double>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor b = from_vector<double>({10, 20, 30});
  REQUIRE((a + b).to_vector<double>() == std::vector<double>{11, 22, 33, 14, 25, 36});
  REQUIRE((a - b).to_vector<double>() == std::vector<double>{-9, -18, -27, -6, -15, -24});
  REQUIRE((a * b).to_vector<double>() == std::vector<double>{10, 40, 90, 40, 100, 180});
  Tensor col = from_vector<double>({2, 4}, {2, 1});
  REQUIRE((a / col).to_vector<double>() == std::vector<double>{0.5, 1, 1.5, 1, 1.25, 1.5});
  REQUIRE(ops::pow(a, col).to_vector<double>() == std::vector<double>{1, 4, 9, 256, 625, 1296});
  Tensor c = from_vector<double>({3, 0, 7}, {1, 3});
  REQUIRE(ops::maximum(a, c).to_vector<double>() == std::vector<double>{3, 2, 7, 4, 5, 7});
  REQUIRE(ops::minimum(a, c).to_vector<double>() == std::vector<double>{1, 0, 3, 3, 0, 6});
  // [2,1] with [3] -> [2,3]
  REQUIRE((col + b).shape() == Shape{2, 3});
  // int tensors too
  Tensor i = arange(4);
  REQUIRE((i + i).to_vector<int64_t>() == std::vector<int64_t>{0, 2, 4, 6});
}

TEST_CASE("binary ops pass gradcheck with broadcasting and strided inputs", "[elementwise][grad]") {
  using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;
  std::vector<std::pair<const char*, Binary>> cases = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
      {"pow", [](const Tensor& a, const Tensor& b) { return ops::pow(a, b); }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return ops::maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return ops::minimum(a, b); }}};
  for (auto& [name, op_binding] : cases) {
    INFO(name);
    auto& op = op_binding;  // C++17 lambdas cannot capture a structured binding (clang refuses)
    Tensor a = uniform({3, 4}, 0.5, 2.0, kFloat64).requires_grad_();
    Tensor b = uniform({4}, 0.5, 2.0, kFloat64).requires_grad_();
    Tensor c = uniform({3, 1}, 0.5, 2.0, kFloat64).requires_grad_();
    REQUIRE_GRADCHECK([&] { return op(a, b); }, (std::vector<Tensor>{a, b}));
    REQUIRE_GRADCHECK([&] { return op(c, b); }, (std::vector<Tensor>{c, b}));
    Tensor at = uniform({4, 3}, 0.5, 2.0, kFloat64).requires_grad_();
    REQUIRE_GRADCHECK([&] { return op(at.t(), a); }, (std::vector<Tensor>{at, a}));
    auto r = gradgradcheck([&] { return op(a, b); }, {a, b});
    INFO(r.report);
    REQUIRE(r.ok);
  }
}

TEST_CASE("maximum and minimum split the gradient evenly on ties", "[elementwise][grad]") {
  Tensor a = from_vector<double>({1.0, 2.0}).requires_grad_();
  Tensor b = from_vector<double>({1.0, 1.0}).requires_grad_();
  ops::sum(ops::maximum(a, b)).backward();
  REQUIRE(a.grad().to_vector<double>() == std::vector<double>{0.5, 1.0});
  REQUIRE(b.grad().to_vector<double>() == std::vector<double>{0.5, 0.0});
}

TEST_CASE("comparisons give bool tensors without gradient", "[elementwise]") {
  Tensor a = from_vector<float>({1, 2, 3});
  Tensor b = from_vector<float>({3, 2, 1});
  REQUIRE(ops::lt(a, b).dtype() == kBool);
  REQUIRE(ops::lt(a, b).to_vector<bool>() == std::vector<bool>{true, false, false});
  REQUIRE(ops::le(a, b).to_vector<bool>() == std::vector<bool>{true, true, false});
  REQUIRE(ops::gt(a, b).to_vector<bool>() == std::vector<bool>{false, false, true});
  REQUIRE(ops::ge(a, b).to_vector<bool>() == std::vector<bool>{false, true, true});
  REQUIRE(ops::eq(a, b).to_vector<bool>() == std::vector<bool>{false, true, false});
  REQUIRE(ops::ne(a, 2.0).to_vector<bool>() == std::vector<bool>{true, false, true});
  Tensor x = a.clone().requires_grad_();
  REQUIRE_FALSE(ops::lt(x, 2.0).requires_grad());
}

TEST_CASE("where selects and routes gradients to the chosen side", "[elementwise][grad]") {
  Tensor cond = from_vector<bool>({true, false, true});
  Tensor a = leaf({3}), b = leaf({2, 3});
  Tensor y = ops::where(cond, a, b);
  REQUIRE(y.shape() == Shape{2, 3});
  auto yv = y.to_vector<double>(), av = a.to_vector<double>(), bv = b.to_vector<double>();
  REQUIRE(yv[0] == av[0]);
  REQUIRE(yv[1] == bv[1]);
  REQUIRE(yv[5] == av[2]);
  REQUIRE_GRADCHECK([&] { return ops::where(cond, a, b); }, (std::vector<Tensor>{a, b}));
  REQUIRE_THROWS_NOVA(ops::where(a, a, b), "where: condition must be bool");
}

// where's dense rows select through a bit mask (kernels/cpu/elementwise.cpp,
// select_row); broadcast and strided operands take the other branches. Each
// must give exactly the picked element's bits, -0.0 and NaN included.
TEST_CASE("where: dense, scalar-broadcast and strided rows pick the exact bits", "[elementwise]") {
  const int64_t n = 1037;  // not a multiple of any vector width
  Tensor cond = ops::gt(uniform({2, n}, -1.0, 1.0), 0.0);
  auto bits_equal = [](double got, double want) { return std::memcmp(&got, &want, sizeof(double)) == 0; };
  for (DType dt : {kFloat32, kFloat64, kInt64}) {
    INFO(dtype_name(dt));
    Tensor a = uniform({2, n}, -5.0, 5.0).to(dt), b = uniform({2, n}, -5.0, 5.0).to(dt);
    if (is_floating(dt)) {
      a.narrow(1, 0, 1).fill_(-0.0);
      b.narrow(1, 1, 1).fill_(std::nan(""));
    }
    Tensor a_scalar = full({1}, -0.0, dt), b_scalar = full({1}, 3.0, dt);
    Tensor a_strided = a.t().contiguous().t();  // same values, column-major
    const auto c = cond.to_vector<bool>();
    struct Case {
      const char* name;
      Tensor x, y;
    };
    for (const Case& k : {Case{"dense", a, b}, Case{"scalar second", a, b_scalar}, Case{"scalar first", a_scalar, b},
                          Case{"both scalar", a_scalar, b_scalar}, Case{"strided", a_strided, b}}) {
      INFO(k.name);
      const auto got = ops::where(cond, k.x, k.y).to(kFloat64).to_vector<double>();
      const auto xv = k.x.expand({2, n}).contiguous().to(kFloat64).to_vector<double>();
      const auto yv = k.y.expand({2, n}).contiguous().to(kFloat64).to_vector<double>();
      REQUIRE(got.size() == c.size());
      for (size_t i = 0; i < c.size(); ++i) {
        INFO("element " << i);
        REQUIRE(bits_equal(got[i], c[i] ? xv[i] : yv[i]));
      }
    }
  }
  // bool elements (one byte each) through the same select
  Tensor pick = from_vector<bool>({true, false, true, false, false});
  Tensor flags = from_vector<bool>({true, true, false, false, true});
  REQUIRE(ops::where(pick, flags, from_vector<bool>({false, false, true, true, false})).to_vector<bool>() ==
          std::vector<bool>{true, false, false, true, false});
}

TEST_CASE("modrelu is sign(x) * relu(|x| + b)", "[elementwise][modrelu]") {
  Tensor x = from_vector<double>({-2.0, -0.3, 0.4, 1.5, -1.0, 2.0}, {2, 3});
  Tensor b = from_vector<double>({0.5, -0.5, -0.2});
  auto y = ops::modrelu(x, b).to_vector<double>();
  std::vector<double> want = {-2.5, 0.0, 0.2, 2.0, -0.5, 1.8};
  for (size_t i = 0; i < want.size(); ++i) REQUIRE(y[i] == Approx(want[i]));
  Tensor xg = from_vector<double>({-2.0, -0.8, 0.4, 1.5, -1.0, 2.0}, {2, 3}).requires_grad_();
  Tensor bg = from_vector<double>({0.5, -0.5, 0.2}).requires_grad_();
  REQUIRE_GRADCHECK([&] { return ops::modrelu(xg, bg); }, (std::vector<Tensor>{xg, bg}));
}

TEST_CASE("elementwise errors name the op and both shapes", "[elementwise][errors]") {
  Tensor a = zeros({2, 3}), b = zeros({4});
  REQUIRE_THROWS_NOVA(a + b, "add: shapes [2, 3] and [4] cannot be broadcast");
  REQUIRE_THROWS_NOVA(a * zeros({3}, kFloat64), "mul: dtype mismatch (float32 [2, 3] vs float64 [3])");
  REQUIRE_THROWS_NOVA(ops::exp(arange(3)), "exp: expected a floating tensor");
  REQUIRE_THROWS_NOVA(ops::add(a, Tensor()), "add: second input is an undefined tensor");
  REQUIRE_THROWS_NOVA(ops::clamp(a, 1.0, 0.0), "clamp: lower bound");
}

TEST_CASE("large elementwise ops take the parallel path and stay correct", "[elementwise]") {
  Tensor a = uniform({300, 400}, -1, 1, kFloat64);
  Tensor b = uniform({400}, -1, 1, kFloat64);
  Tensor y = a * b;  // 120000 elements: above the OpenMP grain
  auto av = a.to_vector<double>(), bv = b.to_vector<double>(), yv = y.to_vector<double>();
  for (int i = 0; i < 300 * 400; i += 997) REQUIRE(yv[i] == av[i] * bv[i % 400]);
  Tensor t = a.t() * 2.0;  // strided
  REQUIRE(t.to_vector<double>()[1] == av[400] * 2.0);
}

// float exp/tanh/sigmoid take Eigen's SIMD path on unit-stride rows and libm
// elsewhere: both must stay within a few float ulp of the exact value
TEST_CASE("float exp, tanh, sigmoid: SIMD rows and strided rows match libm in double", "[elementwise]") {
  Tensor x = linspace(-30.0, 30.0, 6001);  // float32; crosses tanh's clamp and exp's range
  Tensor grid = x.reshape({6001, 1}).expand({6001, 2}).transpose(0, 1);  // strided rows
  auto check = [&](const char* name, const Tensor& out, std::function<double(double)> exact, double rel,
                   double abs_tol) {
    INFO(name);
    std::vector<double> xs = values(x), ys = values(out);
    REQUIRE(ys.size() >= xs.size());
    for (size_t i = 0; i < xs.size(); ++i) {
      double want = exact(double(float(xs[i])));
      if (!std::isfinite(want) || want > 3e38) continue;  // float overflow: not comparable
      INFO("x = " << xs[i]);
      REQUIRE(std::abs(ys[i] - want) <= rel * std::abs(want) + abs_tol);
    }
  };
  auto tanh_d = [](double v) { return std::tanh(v); };
  auto sig_d = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  auto exp_d = [](double v) { return std::exp(v); };
  check("tanh simd", ops::tanh(x), tanh_d, 1e-6, 1e-7);
  check("sigmoid simd", ops::sigmoid(x), sig_d, 1e-6, 1e-30);
  check("exp simd", ops::exp(x), exp_d, 1e-6, 1e-37);
  // the strided path: row 0 of the transposed grid is x again
  check("tanh strided", ops::tanh(grid).select(0, 0).contiguous(), tanh_d, 1e-6, 1e-7);
  check("sigmoid strided", ops::sigmoid(grid).select(0, 0).contiguous(), sig_d, 1e-6, 1e-30);
}

// tanh's and sigmoid's backward run as one pass (kernels/activation_grad.h)
// when no graph is recorded; the composed formula is what create_graph
// differentiates and what the results before the one pass came from. Both
// must give the same bits: a fused multiply-add in the one pass (skipping the
// rounding of y * y) changes about half of the float32 elements.
TEST_CASE("tanh and sigmoid backward: the one pass gives the composed formula's bits", "[elementwise][grad]") {
  for (DType dt : {kFloat32, kFloat64}) {
    // 0, 1, 7 elements, one chunk, and more than one (the threaded path)
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(7), int64_t(1000), int64_t(3 * 32768 + 5)}) {
      INFO(dtype_name(dt) << ", " << n << " elements");
      Tensor x = uniform({n}, -4.0, 4.0, dt);
      if (n >= 7) {  // the ends: saturated outputs and exact zeros
        x.narrow(0, 0, 1).fill_(0.0);
        x.narrow(0, 1, 1).fill_(30.0);
        x.narrow(0, 2, 1).fill_(-30.0);
      }
      Tensor g = uniform({n}, -2.0, 2.0, dt);
      for (const char* name : {"tanh", "sigmoid"}) {
        INFO(name);
        const bool is_tanh = std::string(name) == "tanh";
        Tensor xl = x.clone().requires_grad_();
        Tensor y = is_tanh ? ops::tanh(xl) : ops::sigmoid(xl);
        y.backward(g);
        Tensor composed;
        {
          NoGradGuard no_grad;
          Tensor yd = y.detach();
          composed = is_tanh ? g * (1.0 - yd * yd) : g * yd * (1.0 - yd);
        }
        REQUIRE(same_bits(xl.grad(), composed));
        // a strided upstream gradient takes the composed formula: the same bits again
        if (n > 1) {
          Tensor g2 = ops::stack({g, g}, 1).select(1, 0);
          REQUIRE_FALSE(g2.is_contiguous());
          Tensor xs = x.clone().requires_grad_();
          (is_tanh ? ops::tanh(xs) : ops::sigmoid(xs)).backward(g2);
          REQUIRE(same_bits(xs.grad(), composed));
        }
      }
    }
  }
}

// relu's and leaky_relu's backward (and conv2d's fused activation's) run as
// one pass too (relu_backward); it must give the bits of the composed
// formulas they used before: g * mask and where(x > 0, g, g * slope).
TEST_CASE("relu and leaky_relu backward: the one pass gives the composed formula's bits", "[elementwise][grad]") {
  for (DType dt : {kFloat32, kFloat64}) {
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(7), int64_t(1000), int64_t(3 * 32768 + 5)}) {
      INFO(dtype_name(dt) << ", " << n << " elements");
      Tensor x = uniform({n}, -4.0, 4.0, dt);
      Tensor g = uniform({n}, -2.0, 2.0, dt);
      if (n >= 7) {  // x at 0 and -0, and gradients -0 and NaN on both sides of the kink
        x.narrow(0, 0, 1).fill_(0.0);
        x.narrow(0, 1, 1).fill_(-0.0);
        x.narrow(0, 2, 1).fill_(-1.0);
        x.narrow(0, 3, 1).fill_(1.0);
        g.narrow(0, 2, 1).fill_(-0.0);
        g.narrow(0, 3, 1).fill_(std::nan(""));
        g.narrow(0, 4, 1).fill_(std::nan(""));
      }
      for (double slope : {0.0, 0.1, 0.2}) {
        INFO("slope " << slope);
        Tensor xl = x.clone().requires_grad_();
        (slope == 0.0 ? ops::relu(xl) : ops::leaky_relu(xl, slope)).backward(g);
        Tensor composed;
        {
          NoGradGuard no_grad;
          composed = slope == 0.0 ? g * ops::gt(x, 0.0).to(dt) : ops::where(ops::gt(x, 0.0), g, g * slope);
        }
        REQUIRE(same_bits(xl.grad(), composed));
        REQUIRE(same_bits(ops::relu_backward(g, x, slope), composed));
      }
    }
  }
  // create_graph keeps the differentiable formula: second derivatives work
  Tensor x = from_vector<double>({-1.5, -0.2, 0.3, 2.0}).requires_grad_();
  Tensor w = from_vector<double>({0.5, -1.0, 2.0, 1.5}).requires_grad_();
  REQUIRE_GRADGRADCHECK([&] { return ops::leaky_relu(x * w, 0.2) * w; }, (std::vector<Tensor>{x, w}));
}
