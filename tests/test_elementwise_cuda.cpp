// tests/test_elementwise_cuda.cpp: CPU/CUDA parity of the elementwise family
// (kernels/cuda/elementwise.cu): every UnaryKind and BinaryKind, where,
// clamp, modrelu, comparisons, dtype-converting copies and fill. Each case
// runs the same inputs on the CPU and on cuda:0, forward and backward (the
// grads of the leaves after backward with the same upstream gradient), in
// float32 (1e-5 relative) and float64 (1e-12), over the layouts that pick
// each kernel path: dense and aligned (16-byte packs plus the tail), dense but
// misaligned (a slice starting at element 1), transposed, strided slices,
// broadcasts ([3,1] with [4], 0-d scalars), and the odd sizes 0/1/7/1023/65537.
#include <functional>

#include "kernels/activation_grad.h"
#include "kernels/elementwise.h"
#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Runs fn on CPU copies and on cuda:0 copies of `inputs` (CPU tensors) and
/// requires parity of the result and, when `grad`, of every floating leaf's
/// gradient after backward from the same random upstream gradient.
void check_parity(const std::vector<Tensor>& inputs, bool grad, const Fn& fn, double tol = -1) {
  std::vector<Tensor> a, b;
  for (const Tensor& x : inputs) {
    const bool leaf_grad = grad && x.is_floating_point();
    a.push_back(x.detach().clone().requires_grad_(leaf_grad));
    b.push_back(x.to(gpu()).detach().requires_grad_(leaf_grad));
  }
  Tensor ya = fn(a), yb = fn(b);
  INFO("forward, output shape " << ya.shape().str() << " " << dtype_name(ya.dtype()));
  if (tol < 0) tol = parity_tolerance(ya.dtype());
  require_parity(ya, yb, tol);
  if (!grad) return;
  Tensor g = uniform(ya.shape(), -1.0, 1.0, ya.dtype());
  ya.backward(g);
  yb.backward(g.to(gpu()));
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].requires_grad()) continue;
    INFO("gradient of input " << i);
    REQUIRE(a[i].grad().defined() == b[i].grad().defined());
    if (a[i].grad().defined()) require_parity(a[i].grad(), b[i].grad(), tol);
  }
}

/// Where a unary op's input lives: a leaf and the view of it the op reads.
struct Layout {
  const char* name;
  Shape leaf;
  std::function<Tensor(const Tensor&)> view;
};

std::vector<Layout> layouts() {
  std::vector<Layout> out = {
      {"contiguous [5, 7]", {5, 7}, [](const Tensor& x) { return x; }},
      {"transposed [7, 5]^T", {7, 5}, [](const Tensor& x) { return x.t(); }},
      {"sliced [9, 12][1:8, ::3]", {9, 12}, [](const Tensor& x) { return x.slice(0, 1, 8).slice(1, 0, 12, 3); }},
      {"0-d", {}, [](const Tensor& x) { return x; }},
  };
  for (int64_t n : odd_sizes()) {
    out.push_back({"dense 1-d", {n}, [](const Tensor& x) { return x; }});
    // starts one element in: dense but not 16-byte aligned, the unpacked path
    out.push_back({"misaligned 1-d", {n + 1}, [](const Tensor& x) { return x.slice(0, 1, x.size(0)); }});
  }
  return out;
}

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  double lo, hi;  // input range: inside the op's domain
  bool grad;
};

/// One case per UnaryKind (AddScalar/MulScalar through add/mul with a double).
std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return ops::neg(x); }, -3, 3, true},
      {"abs", [](const Tensor& x) { return ops::abs(x); }, -3, 3, true},
      {"sign", [](const Tensor& x) { return ops::sign(x); }, -3, 3, false},
      {"exp", [](const Tensor& x) { return ops::exp(x); }, -5, 5, true},
      {"log", [](const Tensor& x) { return ops::log(x); }, 0.05, 5, true},
      {"log1p", [](const Tensor& x) { return ops::log1p(x); }, -0.9, 5, true},
      {"sqrt", [](const Tensor& x) { return ops::sqrt(x); }, 0.05, 5, true},
      {"rsqrt", [](const Tensor& x) { return ops::rsqrt(x); }, 0.05, 5, true},
      {"pow 2.5", [](const Tensor& x) { return ops::pow(x, 2.5); }, 0.05, 3, true},
      {"pow 3", [](const Tensor& x) { return ops::pow(x, 3.0); }, -2, 2, true},
      {"sin", [](const Tensor& x) { return ops::sin(x); }, -6, 6, true},
      {"cos", [](const Tensor& x) { return ops::cos(x); }, -6, 6, true},
      {"relu", [](const Tensor& x) { return ops::relu(x); }, -3, 3, true},
      {"leaky_relu", [](const Tensor& x) { return ops::leaky_relu(x, 0.1); }, -3, 3, true},
      {"elu", [](const Tensor& x) { return ops::elu(x, 1.3); }, -4, 3, true},
      // both branches of the two-branch form, and far tails
      {"sigmoid", [](const Tensor& x) { return ops::sigmoid(x); }, -40, 40, true},
      {"tanh", [](const Tensor& x) { return ops::tanh(x); }, -4, 4, true},
      // beta 2, threshold 3: inputs above 1.5 take the linear branch
      {"softplus", [](const Tensor& x) { return ops::softplus(x, 2.0, 3.0); }, -4, 4, true},
      {"add scalar", [](const Tensor& x) { return ops::add(x, 2.5); }, -3, 3, true},
      {"mul scalar", [](const Tensor& x) { return ops::mul(x, -1.5); }, -3, 3, true},
      {"clamp", [](const Tensor& x) { return ops::clamp(x, -0.5, 0.75); }, -2, 2, true},
      {"square", [](const Tensor& x) { return ops::square(x); }, -3, 3, true},
  };
}

const DType kFloatDTypes[] = {kFloat32, kFloat64};
const DType kAllDTypes[] = {kFloat32, kFloat64, kInt64, kInt32, kBool};

/// Values in [lo, hi) of `dtype`, made on the CPU (float64 draw, converted).
Tensor values_in(const Shape& shape, double lo, double hi, DType dtype) {
  return uniform(shape, lo, hi, kFloat64).to(dtype);
}

/// Integer-valued tensors in [lo, hi) of `dtype`, so that comparisons tie.
Tensor integers_in(const Shape& shape, int64_t lo, int64_t hi, DType dtype) {
  return randint(lo, hi, shape, kInt64).to(dtype);
}

}  // namespace

TEST_CASE("every unary kind matches the CPU, forward and backward, on every layout", "[cuda][elementwise]") {
  for (const UnaryCase& c : unary_cases()) {
    for (DType dt : kFloatDTypes) {
      for (const Layout& l : layouts()) {
        INFO(c.name << ", " << dtype_name(dt) << ", " << l.name << " " << l.leaf.str());
        check_parity({values_in(l.leaf, c.lo, c.hi, dt)}, c.grad,
                     [&](const std::vector<Tensor>& in) { return c.op(l.view(in[0])); });
      }
    }
  }
}

// The one-pass tanh / sigmoid backward (kernels/cuda/activation_grad.cu)
// rounds every step as IEEE arithmetic: from the same g and y it must give
// the CPU kernel's bits exactly, and those of the composed formula on the GPU
// (separate mul / neg / add kernels).
TEST_CASE("tanh and sigmoid backward kernels give the CPU's bits and the composed formula's", "[cuda][elementwise]") {
  for (DType dt : kFloatDTypes) {
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(1023), int64_t(65537)}) {
      INFO(dtype_name(dt) << ", " << n << " elements");
      Tensor y = values_in({n}, -1.0, 1.0, dt), g = values_in({n}, -2.0, 2.0, dt);
      Tensor yc = y.to(gpu()), gc = g.to(gpu());
      for (ActivationGradKind kind : {ActivationGradKind::Tanh, ActivationGradKind::Sigmoid}) {
        const bool is_tanh = kind == ActivationGradKind::Tanh;
        INFO((is_tanh ? "tanh" : "sigmoid"));
        Tensor on_cpu = empty({n}, dt), on_gpu = empty({n}, dt, gpu());
        cpu::activation_grad(kind, g, y, on_cpu);
        cuda::activation_grad(kind, gc, yc, on_gpu);
        REQUIRE(same_bits(on_cpu, on_gpu));
        Tensor composed = is_tanh ? gc * (1.0 - yc * yc) : gc * yc * (1.0 - yc);
        REQUIRE(same_bits(composed, on_gpu));
      }
    }
  }
}

// The one-pass relu / leaky_relu backward: the CPU kernel's bits and those
// of the composed formulas on the GPU (mask product; where).
TEST_CASE("relu and leaky_relu backward kernels give the CPU's bits and the composed formula's", "[cuda][elementwise]") {
  for (DType dt : kFloatDTypes) {
    for (int64_t n : {int64_t(0), int64_t(1), int64_t(1023), int64_t(65537)}) {
      INFO(dtype_name(dt) << ", " << n << " elements");
      Tensor x = values_in({n}, -1.0, 1.0, dt), g = values_in({n}, -2.0, 2.0, dt);
      Tensor xc = x.to(gpu()), gc = g.to(gpu());
      for (double slope : {0.0, 0.1}) {
        INFO("slope " << slope);
        Tensor on_cpu = empty({n}, dt), on_gpu = empty({n}, dt, gpu());
        cpu::relu_grad(g, x, slope, on_cpu);
        cuda::relu_grad(gc, xc, slope, on_gpu);
        REQUIRE(same_bits(on_cpu, on_gpu));
        Tensor composed = slope == 0.0 ? gc * ops::gt(xc, 0.0).to(dt) : ops::where(ops::gt(xc, 0.0), gc, gc * slope);
        REQUIRE(same_bits(composed, on_gpu));
      }
    }
  }
}

TEST_CASE("integer unary kinds match the CPU", "[cuda][elementwise]") {
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&)>>> cases = {
      {"neg", [](const Tensor& x) { return ops::unary_kernel(UnaryKind::Neg, x); }},
      {"abs", [](const Tensor& x) { return ops::unary_kernel(UnaryKind::Abs, x); }},
      {"sign", [](const Tensor& x) { return ops::unary_kernel(UnaryKind::Sign, x); }},
      {"relu", [](const Tensor& x) { return ops::unary_kernel(UnaryKind::Relu, x); }},
      {"square", [](const Tensor& x) { return ops::unary_kernel(UnaryKind::Square, x); }},
      {"add scalar", [](const Tensor& x) { return ops::unary_kernel(UnaryKind::AddScalar, x, 7); }},
      {"mul scalar", [](const Tensor& x) { return ops::unary_kernel(UnaryKind::MulScalar, x, -3); }},
      {"clamp", [](const Tensor& x) { return ops::unary_kernel(UnaryKind::Clamp, x, -4, 9); }},
  };
  for (const auto& [name, op] : cases) {
    for (DType dt : {kInt64, kInt32}) {
      for (const Layout& l : layouts()) {
        INFO(name << ", " << dtype_name(dt) << ", " << l.name << " " << l.leaf.str());
        check_parity({integers_in(l.leaf, -20, 20, dt)}, false,
                     [&](const std::vector<Tensor>& in) { return op(l.view(in[0])); });
      }
    }
  }
}

TEST_CASE("cuda unary kernels reject the dtypes the CPU rejects, with its message", "[cuda][elementwise][errors]") {
  for (DType dt : {kInt64, kInt32, kBool}) {
    Tensor x = integers_in({4}, 0, 2, dt);
    Tensor y = empty_like(x);
    Tensor xg = x.to(gpu()), yg = empty_like(xg);
    for (UnaryKind k : {UnaryKind::Exp, UnaryKind::Sigmoid, UnaryKind::Neg}) {
      std::string cpu_message, cuda_message;
      try {
        cpu::unary(k, x, y, 0, 0);
      } catch (const Error& e) {
        cpu_message = e.what();
      }
      try {
        cuda::unary(k, xg, yg, 0, 0);
      } catch (const Error& e) {
        cuda_message = e.what();
      }
      INFO(unary_name(k) << " on " << dtype_name(dt));
      REQUIRE(cpu_message == cuda_message);
    }
  }
  Tensor b = integers_in({4}, 0, 2, kBool);
  Tensor bg = b.to(gpu());
  REQUIRE_THROWS_NOVA(cuda::binary(BinaryKind::Add, bg, bg, empty_like(bg)), "add: not defined for bool");
  REQUIRE_THROWS_NOVA(cuda::binary(BinaryKind::Pow, integers_in({4}, 0, 2, kInt64).to(gpu()),
                                   integers_in({4}, 0, 2, kInt64).to(gpu()), empty({4}, kInt64, gpu())),
                      "pow: not defined for int64");
}

namespace {

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  double a_lo, a_hi, b_lo, b_hi;
};

/// One case per arithmetic BinaryKind.
std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return ops::add(a, b); }, -3, 3, -3, 3},
      {"sub", [](const Tensor& a, const Tensor& b) { return ops::sub(a, b); }, -3, 3, -3, 3},
      {"mul", [](const Tensor& a, const Tensor& b) { return ops::mul(a, b); }, -3, 3, -3, 3},
      {"div", [](const Tensor& a, const Tensor& b) { return ops::div(a, b); }, -3, 3, 0.5, 3},
      {"pow", [](const Tensor& a, const Tensor& b) { return ops::pow(a, b); }, 0.2, 3, -2, 2},
      {"maximum", [](const Tensor& a, const Tensor& b) { return ops::maximum(a, b); }, -3, 3, -3, 3},
      {"minimum", [](const Tensor& a, const Tensor& b) { return ops::minimum(a, b); }, -3, 3, -3, 3},
  };
}

/// Two operands: their leaf shapes and the views the op reads.
struct PairLayout {
  const char* name;
  Shape a, b;
  std::function<Tensor(const Tensor&)> view_a, view_b;
};

std::vector<PairLayout> pair_layouts() {
  auto id = [](const Tensor& x) { return x; };
  std::vector<PairLayout> out = {
      {"same shape [5, 7]", {5, 7}, {5, 7}, id, id},
      {"[3, 1] with [4]", {3, 1}, {4}, id, id},
      {"[4] with [3, 1]", {4}, {3, 1}, id, id},
      {"0-d with [5, 6]", {}, {5, 6}, id, id},
      {"[5, 6] with 0-d", {5, 6}, {}, id, id},
      {"0-d with 0-d", {}, {}, id, id},
      {"[2, 1, 4] with [3, 1]", {2, 1, 4}, {3, 1}, id, id},
      {"transposed with contiguous", {6, 5}, {5, 6}, [](const Tensor& x) { return x.t(); }, id},
      {"sliced with transposed", {9, 12}, {4, 7},
       [](const Tensor& x) { return x.slice(0, 1, 8).slice(1, 0, 12, 3); }, [](const Tensor& x) { return x.t(); }},
      {"empty [0, 3] with [3]", {0, 3}, {3}, id, id},
  };
  for (int64_t n : odd_sizes()) {
    out.push_back({"dense 1-d", {n}, {n}, id, id});
    out.push_back({"misaligned with dense", {n + 1}, {n}, [](const Tensor& x) { return x.slice(0, 1, x.size(0)); }, id});
    out.push_back({"dense with 0-d", {n}, {}, id, id});
  }
  return out;
}

}  // namespace

TEST_CASE("every binary kind matches the CPU, forward and backward, with broadcasting", "[cuda][elementwise]") {
  for (const BinaryCase& c : binary_cases()) {
    for (DType dt : kFloatDTypes) {
      for (const PairLayout& l : pair_layouts()) {
        INFO(c.name << ", " << dtype_name(dt) << ", " << l.name << ": " << l.a.str() << " and " << l.b.str());
        check_parity({values_in(l.a, c.a_lo, c.a_hi, dt), values_in(l.b, c.b_lo, c.b_hi, dt)}, true,
                     [&](const std::vector<Tensor>& in) { return c.op(l.view_a(in[0]), l.view_b(in[1])); });
      }
    }
  }
}

TEST_CASE("int64 and int32 arithmetic matches the CPU exactly", "[cuda][elementwise]") {
  for (const BinaryCase& c : binary_cases()) {
    if (std::string(c.name) == "pow" || std::string(c.name) == "div") continue;  // pow: floating only
    for (DType dt : {kInt64, kInt32}) {
      for (const PairLayout& l : pair_layouts()) {
        INFO(c.name << ", " << dtype_name(dt) << ", " << l.name);
        check_parity({integers_in(l.a, -1000, 1000, dt), integers_in(l.b, -1000, 1000, dt)}, false,
                     [&](const std::vector<Tensor>& in) { return c.op(l.view_a(in[0]), l.view_b(in[1])); }, 0.0);
      }
    }
  }
  // integer division (kernel level: ops::div takes floating tensors only)
  // truncates toward zero on both devices
  check_parity({integers_in({1023}, -1000, 1000, kInt64), integers_in({1023}, 1, 50, kInt64)}, false,
               [](const std::vector<Tensor>& in) {
                 Tensor out = empty_like(in[0]);
                 if (in[0].is_cuda()) {
                   cuda::binary(BinaryKind::Div, in[0], in[1], out);
                 } else {
                   cpu::binary(BinaryKind::Div, in[0], in[1], out);
                 }
                 return out;
               }, 0.0);
}

TEST_CASE("comparisons give the same bool tensors as the CPU", "[cuda][elementwise]") {
  const std::vector<std::pair<const char*, std::function<Tensor(const Tensor&, const Tensor&)>>> cases = {
      {"eq", [](const Tensor& a, const Tensor& b) { return ops::eq(a, b); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return ops::ne(a, b); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return ops::lt(a, b); }},
      {"le", [](const Tensor& a, const Tensor& b) { return ops::le(a, b); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return ops::gt(a, b); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return ops::ge(a, b); }},
  };
  for (const auto& [name, op] : cases) {
    for (DType dt : {kFloat32, kFloat64, kInt64, kInt32}) {
      for (const PairLayout& l : pair_layouts()) {
        INFO(name << ", " << dtype_name(dt) << ", " << l.name);
        // few distinct values: many ties, so eq/le/ge are exercised both ways
        check_parity({integers_in(l.a, -3, 3, dt), integers_in(l.b, -3, 3, dt)}, false,
                     [&](const std::vector<Tensor>& in) {
                       Tensor r = op(l.view_a(in[0]), l.view_b(in[1]));
                       REQUIRE(r.dtype() == kBool);
                       return r;
                     }, 0.0);
      }
    }
  }
  for (const PairLayout& l : pair_layouts()) {  // bool operands: eq and ne only
    INFO("bool, " << l.name);
    check_parity({integers_in(l.a, 0, 2, kBool), integers_in(l.b, 0, 2, kBool)}, false,
                 [&](const std::vector<Tensor>& in) { return ops::eq(l.view_a(in[0]), l.view_b(in[1])); }, 0.0);
    check_parity({integers_in(l.a, 0, 2, kBool), integers_in(l.b, 0, 2, kBool)}, false,
                 [&](const std::vector<Tensor>& in) { return ops::ne(l.view_a(in[0]), l.view_b(in[1])); }, 0.0);
  }
  for (DType dt : kFloatDTypes)  // tensor op double
    check_parity({values_in({1023}, -1, 1, dt)}, false,
                 [](const std::vector<Tensor>& in) { return in[0] < 0.25; }, 0.0);
}

TEST_CASE("where, clamp and modrelu match the CPU, forward and backward", "[cuda][elementwise]") {
  for (DType dt : kFloatDTypes) {
    INFO(dtype_name(dt));
    // cond [3, 1], a [4], b 0-d: all three broadcast to [3, 4]
    check_parity({integers_in({3, 1}, 0, 2, kBool), values_in({4}, -1, 1, dt), values_in({}, -1, 1, dt)}, true,
                 [](const std::vector<Tensor>& in) { return ops::where(in[0], in[1], in[2]); });
    check_parity({integers_in({7, 5}, 0, 2, kBool), values_in({5, 7}, -1, 1, dt), values_in({7, 5}, -1, 1, dt)},
                 true, [](const std::vector<Tensor>& in) { return ops::where(in[0], in[1].t(), in[2]); });
    for (int64_t n : odd_sizes()) {
      check_parity({integers_in({n}, 0, 2, kBool), values_in({n}, -1, 1, dt), values_in({n}, -1, 1, dt)}, true,
                   [](const std::vector<Tensor>& in) { return ops::where(in[0], in[1], in[2]); });
      check_parity({values_in({n}, -2, 2, dt)}, true,
                   [](const std::vector<Tensor>& in) { return ops::where(in[0] > 0.0, in[0], 0.5); });
      check_parity({values_in({n}, -2, 2, dt)}, true,
                   [](const std::vector<Tensor>& in) { return ops::clamp(in[0], -1.0, 1.25); });
    }
    // modrelu: one bias per hidden unit, broadcast over rows
    check_parity({values_in({5, 8}, -2, 2, dt), values_in({8}, -1, 0.5, dt)}, true,
                 [](const std::vector<Tensor>& in) { return ops::modrelu(in[0], in[1]); });
    check_parity({values_in({8, 65}, -2, 2, dt), values_in({8}, -1, 0.5, dt)}, true,
                 [](const std::vector<Tensor>& in) { return ops::modrelu(in[0].t(), in[1]); });
  }
  for (DType dt : {kInt64, kInt32, kBool}) {  // where on every dtype
    INFO(dtype_name(dt));
    check_parity({integers_in({3, 1}, 0, 2, kBool), integers_in({4}, -5, 5, dt), integers_in({}, -5, 5, dt)},
                 false, [](const std::vector<Tensor>& in) { return ops::where(in[0], in[1], in[2]); }, 0.0);
  }
}

TEST_CASE("copies convert between every pair of dtypes like the CPU", "[cuda][elementwise][copy]") {
  for (DType from : kAllDTypes) {
    for (DType to : kAllDTypes) {
      for (int64_t n : odd_sizes()) {
        INFO(dtype_name(from) << " -> " << dtype_name(to) << ", n = " << n);
        // fractional and negative values: float -> int truncates toward zero,
        // anything nonzero -> bool is true, exactly as static_cast on the CPU
        Tensor src = from == kBool ? integers_in({n}, 0, 2, kBool) : values_in({n}, -50, 50, from);
        check_parity({src}, false, [to](const std::vector<Tensor>& in) { return in[0].to(to); }, 0.0);
        check_parity({src}, false,  // misaligned source
                     [to, n](const std::vector<Tensor>& in) { return in[0].slice(0, n > 0 ? 1 : 0, n).to(to); }, 0.0);
      }
      INFO(dtype_name(from) << " -> " << dtype_name(to) << ", transposed");
      Tensor src = from == kBool ? integers_in({7, 9}, 0, 2, kBool) : values_in({7, 9}, -50, 50, from);
      check_parity({src}, false, [to](const std::vector<Tensor>& in) { return in[0].t().to(to); }, 0.0);
    }
  }
}

TEST_CASE("contiguous, clone and copy_ on the GPU match the CPU", "[cuda][elementwise][copy]") {
  for (DType dt : kAllDTypes) {
    INFO(dtype_name(dt));
    Tensor src = dt == kBool ? integers_in({6, 10}, 0, 2, kBool) : values_in({6, 10}, -5, 5, dt);
    check_parity({src}, false, [](const std::vector<Tensor>& in) { return in[0].t().contiguous(); }, 0.0);
    check_parity({src}, false,
                 [](const std::vector<Tensor>& in) { return in[0].slice(0, 1, 6, 2).slice(1, 3, 10).clone(); }, 0.0);
    // copy_ broadcasts [10] into a [4, 10] destination and converts to float64
    check_parity({src}, false, [](const std::vector<Tensor>& in) {
      Tensor dst = zeros({4, 10}, kFloat64, in[0].device());
      dst.copy_(in[0].select(0, 2));
      return dst;
    }, 0.0);
    // copy_ into a transposed view writes through its strides
    check_parity({src}, false, [](const std::vector<Tensor>& in) {
      Tensor dst = zeros({10, 6}, in[0].dtype(), in[0].device());
      dst.t().copy_(in[0]);
      return dst;
    }, 0.0);
    // copy_ from a host tensor into a device one (and a self-overlapping copy)
    check_parity({src}, false, [](const std::vector<Tensor>& in) {
      Tensor dst = zeros({6, 10}, in[0].dtype(), in[0].device());
      dst.copy_(in[0].to(kCPU));
      dst.slice(0, 0, 3).copy_(dst.slice(0, 3, 6));
      return dst;
    }, 0.0);
  }
  // backward through contiguous/clone of a view
  for (DType dt : kFloatDTypes)
    check_parity({values_in({7, 5}, -1, 1, dt)}, true,
                 [](const std::vector<Tensor>& in) { return in[0].t().contiguous() * in[0].t().clone(); });
}

TEST_CASE("fill, full, zeros and ones on the GPU match the CPU", "[cuda][elementwise][fill]") {
  for (DType dt : kAllDTypes) {
    for (int64_t n : odd_sizes()) {
      INFO(dtype_name(dt) << ", n = " << n);
      require_parity(full({n}, -2.75, dt), full({n}, -2.75, dt, gpu()), 0.0);
      require_parity(zeros({n}, dt), zeros({n}, dt, gpu()), 0.0);
      require_parity(ones({n}, dt), ones({n}, dt, gpu()), 0.0);
      Tensor a = zeros({n + 1}, dt), b = zeros({n + 1}, dt, gpu());
      a.slice(0, 1, n + 1).fill_(3.0);  // misaligned dense fill
      b.slice(0, 1, n + 1).fill_(3.0);
      require_parity(a, b, 0.0);
    }
    INFO(dtype_name(dt) << ", strided fill");
    Tensor a = zeros({6, 8}, dt), b = zeros({6, 8}, dt, gpu());
    a.slice(1, 1, 8, 2).fill_(5.0);
    b.slice(1, 1, 8, 2).fill_(5.0);
    a.t().slice(0, 0, 1).fill_(-1.0);
    b.t().slice(0, 0, 1).fill_(-1.0);
    require_parity(a, b, 0.0);
    require_parity(scalar_tensor(1.5, dt), scalar_tensor(1.5, dt, gpu()), 0.0);
  }
}
