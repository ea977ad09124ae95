// tests/test_grad_split.cpp: per-loss gradient splitting (core/grad_split.h)
// and the segment ops it is built on (core/segment.h).
//   - segment_sum / segment_repeat / segment_outer: values against plain
//     loops, float64 gradchecks, bad inputs;
//   - per-group batch_norm (RowGroupsGuard) equals batch_norm on each group;
//   - grad_split reference == one autograd::grad per loss;
//   - grad_split fused == reference (float64 to 1e-12, float32 to float32
//     rounding) on MLP discriminators with tanh/relu/leaky_relu, LayerNorm,
//     BatchNorm1d (per-group and eval), broadcast scale/bias parameters,
//     dropout (training and eval), a 3-D input, K = 2 and 3, unequal groups;
//   - an op of the test's own, recorded with NodeOptions: its grouped rule is
//     what the fused path uses, and its hint reaches the refusal;
//   - every case the fused path cannot split exactly throws a clear error.
#include <cmath>
#include <functional>
#include <memory>

#include "core/grad_split.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/normalization.h"
#include "nn/sequential.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using autograd::grad_split;
using autograd::GradSplitMode;
using autograd::GradSplitOptions;
using autograd::RowGroupsGuard;

namespace {

std::vector<int64_t> offsets_of(const std::vector<int64_t>& groups) {
  std::vector<int64_t> o{0};
  for (int64_t n : groups) o.push_back(o.back() + n);
  return o;
}

/// One loss per group, each reading only its own rows of out [N, 1] (or [N]):
/// non-saturating GAN parts for groups 0 and 1, a squared term for group 2.
std::vector<Tensor> group_losses(const Tensor& out, const std::vector<int64_t>& groups) {
  std::vector<int64_t> o = offsets_of(groups);
  std::vector<Tensor> losses;
  for (size_t k = 0; k < groups.size(); ++k) {
    Tensor rows = out.narrow(0, o[k], groups[k]);
    if (k == 0) losses.push_back(ops::mean(ops::softplus(-rows)));
    else if (k == 1) losses.push_back(ops::mean(ops::softplus(rows)));
    else losses.push_back(ops::mean(rows * rows) * 0.5);
  }
  return losses;
}

/// The flat gradients of each loss, one autograd::grad call each.
std::vector<std::vector<double>> per_loss_grads(const std::vector<Tensor>& losses,
                                                const std::vector<Tensor>& params) {
  std::vector<std::vector<double>> result;
  for (const Tensor& loss : losses) {
    auto grads = autograd::grad({loss}, params, {}, false, true, true);
    std::vector<double> flat;
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<double> v = grads[i].defined() ? values(grads[i])
                                                 : std::vector<double>(params[i].numel(), 0.0);
      flat.insert(flat.end(), v.begin(), v.end());
    }
    result.push_back(flat);
  }
  return result;
}

/// REQUIREs |got - want| <= tol * max(1, max |want|) elementwise, for each loss.
void require_same(const std::vector<Tensor>& got, const std::vector<std::vector<double>>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    std::vector<double> g = values(got[k]);
    REQUIRE(g.size() == want[k].size());
    double scale = 1, worst = 0;
    size_t worst_i = 0;
    for (double w : want[k]) scale = std::max(scale, std::abs(w));
    for (size_t i = 0; i < g.size(); ++i)
      if (!(std::abs(g[i] - want[k][i]) <= worst)) {
        worst = std::abs(g[i] - want[k][i]);
        worst_i = i;
      }
    INFO("loss " << k << ": worst element " << worst_i << " got " << g[worst_i] << " want "
                 << want[k][worst_i] << " (|diff| " << worst << ", bound " << tol * scale << ")");
    REQUIRE(worst <= tol * scale);
  }
}

std::vector<std::vector<double>> as_values(const std::vector<Tensor>& flat) {
  std::vector<std::vector<double>> v;
  for (const Tensor& t : flat) v.push_back(values(t));
  return v;
}

double tolerance(DType dtype) { return dtype == kFloat64 ? 1e-12 : 2e-5; }

using ModelFn = std::function<Tensor(const Tensor&)>;

/// Runs the model on x [N, in] under RowGroupsGuard(groups) and checks that
/// the fused split equals the reference split, and the reference equals one
/// autograd::grad per loss.
void check_fused_equals_reference(const ModelFn& model, const std::vector<Tensor>& params,
                                  const Tensor& x, const std::vector<int64_t>& groups, DType dtype) {
  Tensor out;
  {
    RowGroupsGuard guard(groups);
    out = model(x);
  }
  std::vector<Tensor> losses = group_losses(out, groups);
  auto want = per_loss_grads(losses, params);
  auto reference = grad_split(losses, params);
  require_same(reference, want, dtype == kFloat64 ? 1e-14 : 1e-7);
  GradSplitOptions fused{GradSplitMode::fused, out, groups};
  auto got = grad_split(losses, params, fused);
  REQUIRE(got.size() == groups.size());
  for (const Tensor& g : got) {
    REQUIRE(g.dim() == 1);
    REQUIRE(g.dtype() == dtype);
    REQUIRE(!g.requires_grad());
  }
  require_same(got, as_values(reference), tolerance(dtype));
}

/// The cases of the sweep: a discriminator on [N, 3] inputs.
struct Case {
  std::string name;
  std::function<std::shared_ptr<nn::Module>()> make;
};

std::vector<Case> discriminators() {
  using std::make_shared;
  return {
      {"Linear+tanh",
       [] {
         return make_shared<nn::Sequential>(make_shared<nn::Linear>(3, 16), make_shared<nn::Tanh>(),
                                            make_shared<nn::Linear>(16, 16), make_shared<nn::Tanh>(),
                                            make_shared<nn::Linear>(16, 1));
       }},
      {"Linear+relu/leaky_relu",
       [] {
         return make_shared<nn::Sequential>(make_shared<nn::Linear>(3, 16), make_shared<nn::ReLU>(),
                                            make_shared<nn::Linear>(16, 12), make_shared<nn::LeakyReLU>(0.2),
                                            make_shared<nn::Linear>(12, 1));
       }},
      {"LayerNorm",
       [] {
         return make_shared<nn::Sequential>(make_shared<nn::Linear>(3, 16), make_shared<nn::LayerNorm>(16),
                                            make_shared<nn::Tanh>(), make_shared<nn::Linear>(16, 8),
                                            make_shared<nn::LayerNorm>(8), make_shared<nn::LeakyReLU>(0.1),
                                            make_shared<nn::Linear>(8, 1));
       }},
      {"BatchNorm1d per group (training, RowGroupsGuard)",
       [] {
         return make_shared<nn::Sequential>(make_shared<nn::Linear>(3, 16), make_shared<nn::BatchNorm1d>(16),
                                            make_shared<nn::ReLU>(), make_shared<nn::Linear>(16, 8),
                                            make_shared<nn::BatchNorm1d>(8), make_shared<nn::Tanh>(),
                                            make_shared<nn::Linear>(8, 1));
       }},
      {"Dropout (training)",
       [] {
         return make_shared<nn::Sequential>(make_shared<nn::Linear>(3, 16), make_shared<nn::Tanh>(),
                                            make_shared<nn::Dropout>(0.3), make_shared<nn::Linear>(16, 1));
       }},
      {"Dropout (eval) and ModReLU",
       [] {
         auto net = make_shared<nn::Sequential>(make_shared<nn::Linear>(3, 16), make_shared<nn::ModReLU>(16),
                                                make_shared<nn::Dropout>(0.5), make_shared<nn::Linear>(16, 1));
         net->eval();
         return net;
       }},
  };
}

/// Randomises every parameter (so LayerNorm/BatchNorm affine terms are not 1 and 0).
void randomize(nn::Module& m, Generator& gen) {
  NoGradGuard no_grad;
  for (Tensor& p : m.parameters()) p.copy_(uniform(p.shape(), -0.8, 0.8, p.dtype(), p.device(), &gen));
}

/// How the test's own layer declares its node for grad_split.
enum class Declared { grouped_rule, row_local_only, not_row_local };

/// y = x w^T for x [N, in], w [out, in], recorded as one node the way a new
/// layer in core would be (core/autograd.h, NodeOptions): row-local, and
/// with a grouped rule for w, dw_k = g_k^T x_k, when `declared` says so.
Tensor own_layer(const Tensor& x, const Tensor& w, Declared declared) {
  Tensor y;
  {
    NoGradGuard no_grad;
    y = ops::matmul(x, w.t());
  }
  auto backward = [x, w](const autograd::BackwardCtx& c) {
    return autograd::Grads{c.needs(0) ? ops::matmul(c.grad, w) : Tensor(),
                           c.needs(1) ? ops::matmul(c.grad.t(), x) : Tensor()};
  };
  auto grouped = [x](const autograd::BackwardCtx& c, const std::vector<int64_t>& groups) {
    return autograd::Grads{Tensor(), c.needs(1) ? ops::segment_outer(c.grad, x, groups) : Tensor()};
  };
  autograd::NodeOptions options;
  if (declared == Declared::grouped_rule) options.row_local().grouped({1}, grouped);
  if (declared == Declared::row_local_only) options.row_local();
  if (declared == Declared::not_row_local) options.row_local(false, "own_layer's hint");
  autograd::record("own_layer", {x, w}, y, backward, options);
  return y;
}

}  // namespace

// ---- segment ops ----

TEST_CASE("segment_sum sums the rows of each segment", "[grad_split][segment]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = uniform({9, 2, 3}, -2.0, 2.0, dtype);
    std::vector<int64_t> groups{2, 0, 4, 3};
    Tensor y = ops::segment_sum(x, groups);
    REQUIRE(y.shape() == Shape({4, 2, 3}));
    std::vector<double> xv = values(x), yv = values(y);
    std::vector<int64_t> o = offsets_of(groups);
    for (int k = 0; k < 4; ++k)
      for (int j = 0; j < 6; ++j) {
        double want = 0;
        for (int64_t r = o[k]; r < o[k + 1]; ++r) want += xv[r * 6 + j];
        REQUIRE(yv[k * 6 + j] == Approx(want).margin(1e-5));
      }
    // a strided (transposed) input is read correctly
    Tensor xt = uniform({4, 7}, -1.0, 1.0, dtype).t();  // [7, 4]
    REQUIRE(max_abs_diff(ops::segment_sum(xt, {3, 4}), ops::segment_sum(xt.contiguous(), {3, 4})) == 0);
    // one segment is the plain sum over dim 0
    REQUIRE(max_abs_diff(ops::segment_sum(xt, {7}), ops::sum(xt, {0}, true)) <= 1e-6);
  }
  // wide rows take several column blocks per segment
  Tensor wide = uniform({5, 1300}, -1.0, 1.0, kFloat64);
  Tensor s = ops::segment_sum(wide, {2, 3});
  REQUIRE(max_abs_diff(s.narrow(0, 1, 1), ops::sum(wide.narrow(0, 2, 3), {0}, true)) <= 1e-12);
}

TEST_CASE("segment_sum, segment_repeat and segment_outer pass gradcheck", "[grad_split][segment][grad]") {
  Tensor x = leaf({6, 3});
  REQUIRE_GRADCHECK([&] { return ops::segment_sum(x, {1, 3, 2}); }, {x});
  REQUIRE_GRADCHECK([&] { return ops::segment_sum(x, {0, 6}); }, {x});
  Tensor r = leaf({3, 2, 2});
  REQUIRE_GRADCHECK([&] { return ops::segment_repeat(r, {2, 0, 3}); }, {r});
  Tensor a = leaf({7, 3}), b = leaf({7, 4});
  REQUIRE_GRADCHECK([&] { return ops::segment_outer(a, b, {3, 0, 4}); }, (std::vector<Tensor>{a, b}));
  REQUIRE_GRADGRADCHECK([&] { return ops::segment_sum(x * x, {2, 4}); }, {x});
}

TEST_CASE("segment_repeat and segment_outer values", "[grad_split][segment]") {
  Tensor r = from_vector<double>({1, 2, 3, 4, 5, 6}, {3, 2});
  REQUIRE(values(ops::segment_repeat(r, {1, 0, 2})) == std::vector<double>{1, 2, 5, 6, 5, 6});
  REQUIRE(values(ops::segment_ids({2, 1, 0, 2})) == std::vector<double>{0, 0, 1, 3, 3});
  Tensor a = uniform({7, 3}, -1.0, 1.0, kFloat64), b = uniform({7, 4}, -1.0, 1.0, kFloat64);
  Tensor y = ops::segment_outer(a, b, {3, 0, 4});
  REQUIRE(y.shape() == Shape({3, 3, 4}));
  REQUIRE(max_abs_diff(y.select(0, 0), ops::matmul(a.narrow(0, 0, 3).t(), b.narrow(0, 0, 3))) <= 1e-14);
  REQUIRE(max_abs_diff(y.select(0, 1), zeros({3, 4}, kFloat64)) == 0);
  REQUIRE(max_abs_diff(y.select(0, 2), ops::matmul(a.narrow(0, 3, 4).t(), b.narrow(0, 3, 4))) <= 1e-14);
  // large enough for the threaded paths (segment_outer: >= 2^20 multiply-adds,
  // segment_sum: >= 2^20 elements, several column blocks)
  Tensor big_a = uniform({1100, 40}, -1.0, 1.0, kFloat64), big_b = uniform({1100, 30}, -1.0, 1.0, kFloat64);
  Tensor big = ops::segment_outer(big_a, big_b, {500, 0, 600});
  REQUIRE(max_abs_diff(big.select(0, 0), ops::matmul(big_a.narrow(0, 0, 500).t(), big_b.narrow(0, 0, 500))) <= 1e-12);
  REQUIRE(max_abs_diff(big.select(0, 1), zeros({40, 30}, kFloat64)) == 0);
  REQUIRE(max_abs_diff(big.select(0, 2), ops::matmul(big_a.narrow(0, 500, 600).t(), big_b.narrow(0, 500, 600))) <= 1e-12);
  Tensor wide = uniform({2048, 600}, -1.0, 1.0, kFloat64);
  Tensor sums = ops::segment_sum(wide, {1000, 1048});
  REQUIRE(max_abs_diff(sums.select(0, 1), ops::sum(wide.narrow(0, 1000, 1048), {0})) <= 1e-12);
}

TEST_CASE("segment ops reject bad group sizes", "[grad_split][segment]") {
  Tensor x = zeros({5, 2});
  REQUIRE_THROWS_NOVA(ops::segment_sum(x, {2, 2}), "group sizes add up to 4 rows, but the input [5, 2] has 5 rows");
  REQUIRE_THROWS_NOVA(ops::segment_sum(x, {6, -1}), "segment_sum: group size 1 is negative");
  REQUIRE_THROWS_NOVA(ops::segment_sum(x, {}), "segment_sum: expected at least one group size");
  REQUIRE_THROWS_NOVA(ops::segment_sum(zeros({}), {1}), "segment_sum: group sizes add up to 1 rows");
  REQUIRE_THROWS_NOVA(ops::segment_repeat(x, {1, 2}), "segment_repeat: expected one row per group (2 groups)");
  REQUIRE_THROWS_NOVA(ops::segment_outer(x, zeros({4, 2}), {5}), "segment_outer: expected a [N, m] and b [N, n]");
}

// ---- per-group batch_norm ----

TEST_CASE("batch_norm under RowGroupsGuard normalises each group on its own", "[grad_split][batch_norm]") {
  for (int64_t L : {1, 3}) {
    INFO("L = " << L);
    Shape shape = L == 1 ? Shape({9, 4}) : Shape({9, 4, L});
    Tensor x = leaf(shape, -2.0, 3.0), w = leaf({4}), b = leaf({4});
    std::vector<int64_t> groups{4, 5};
    Tensor rm = zeros({4}, kFloat64), rv = ones({4}, kFloat64);
    Tensor rm_ref = rm.clone(), rv_ref = rv.clone();
    Tensor y;
    {
      RowGroupsGuard guard(groups);
      y = ops::batch_norm(x, rm, rv, w, b, true, 0.1);
    }
    // reference: batch_norm on each group, running stats updated group by group
    Tensor x_ref = x.detach().clone().requires_grad_(), w_ref = w.detach().clone().requires_grad_(),
           b_ref = b.detach().clone().requires_grad_();
    Tensor y0 = ops::batch_norm(x_ref.narrow(0, 0, 4), rm_ref, rv_ref, w_ref, b_ref, true, 0.1);
    Tensor y1 = ops::batch_norm(x_ref.narrow(0, 4, 5), rm_ref, rv_ref, w_ref, b_ref, true, 0.1);
    Tensor y_ref = ops::cat({y0, y1}, 0);
    REQUIRE(max_abs_diff(y, y_ref) <= 1e-12);
    REQUIRE(max_abs_diff(rm, rm_ref) <= 1e-12);
    REQUIRE(max_abs_diff(rv, rv_ref) <= 1e-12);
    // gradients, ordinary backward
    Tensor r = uniform(shape, -1.0, 1.0, kFloat64);
    ops::sum(y * r).backward();
    ops::sum(y_ref * r).backward();
    REQUIRE(max_abs_diff(x.grad(), x_ref.grad()) <= 1e-12);
    REQUIRE(max_abs_diff(w.grad(), w_ref.grad()) <= 1e-12);
    REQUIRE(max_abs_diff(b.grad(), b_ref.grad()) <= 1e-12);
    // and by finite differences, first and second order
    auto fn = [&] {
      RowGroupsGuard guard(groups);
      return ops::batch_norm(x, Tensor(), Tensor(), w, b, true);
    };
    REQUIRE_GRADCHECK(fn, (std::vector<Tensor>{x, w, b}));
    REQUIRE_GRADGRADCHECK(fn, (std::vector<Tensor>{x, w}));
  }
}

TEST_CASE("RowGroupsGuard nests, restores, and is checked against the batch", "[grad_split][batch_norm]") {
  REQUIRE(autograd::current_row_groups() == nullptr);
  {
    RowGroupsGuard outer({2, 3});
    {
      RowGroupsGuard inner({1, 1, 3});
      REQUIRE(*autograd::current_row_groups() == std::vector<int64_t>{1, 1, 3});
    }
    REQUIRE(*autograd::current_row_groups() == std::vector<int64_t>{2, 3});
    REQUIRE_THROWS_NOVA(ops::batch_norm(zeros({6, 2}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                        "batch_norm: the RowGroupsGuard groups [2, 3] add up to 5 rows, but the input [6, 2] has 6 rows");
    // eval with running statistics does not use the groups
    Tensor y = ops::batch_norm(zeros({6, 2}), zeros({2}), ones({2}), Tensor(), Tensor(), false);
    REQUIRE(y.shape() == Shape({6, 2}));
  }
  REQUIRE(autograd::current_row_groups() == nullptr);
  REQUIRE_THROWS_NOVA(RowGroupsGuard({3, -1}), "RowGroupsGuard: group size 1 is negative");
  {
    RowGroupsGuard one_row({1, 4});
    REQUIRE_THROWS_NOVA(ops::batch_norm(zeros({5, 2}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                        "more than 1 value per channel in each RowGroupsGuard group, group 0 has 1 rows");
  }
}

// ---- grad_split: reference ----

TEST_CASE("grad_split reference equals one autograd::grad per loss", "[grad_split]") {
  manual_seed(3);
  auto net = discriminators()[0].make();
  net->to(kFloat64);
  std::vector<Tensor> params = net->parameters();
  Tensor x = uniform({10, 3}, -1.0, 1.0, kFloat64);
  Tensor out = net->forward(x);
  std::vector<int64_t> groups{4, 6};
  auto losses = group_losses(out, groups);
  auto got = grad_split(losses, params);
  require_same(got, per_loss_grads(losses, params), 0);
  REQUIRE(got[0].numel() == 3 * 16 + 16 + 16 * 16 + 16 + 16 + 1);
  // .grad is not touched, and the graph is kept: a second split gives the same
  for (const Tensor& p : params) REQUIRE(!p.grad().defined());
  require_same(grad_split(losses, params), as_values(got), 0);
}

TEST_CASE("grad_split reference handles double-backward losses (gradient penalty)", "[grad_split]") {
  manual_seed(4);
  auto net = discriminators()[0].make();
  net->to(kFloat64);
  std::vector<Tensor> params = net->parameters();
  Tensor x = uniform({6, 3}, -1.0, 1.0, kFloat64).requires_grad_();
  Tensor out = net->forward(x);
  Tensor dx = autograd::grad({out}, {x}, {ones_like(out)}, /*create_graph=*/true)[0];
  Tensor gp = ops::mean(ops::square(ops::norm(dx, 2, {1}) - 1.0));
  std::vector<Tensor> losses{ops::mean(out), gp};
  require_same(grad_split(losses, params), per_loss_grads(losses, params), 0);
  // the fused path cannot split the penalty: it reaches the weights around batch_output
  REQUIRE_THROWS_NOVA(grad_split(losses, params, {GradSplitMode::fused, out, {3, 3}}),
                      "loss 1 depends on parameter");
}

TEST_CASE("grad_split gives zeros for a parameter no loss reaches", "[grad_split]") {
  manual_seed(5);
  auto net = discriminators()[0].make();
  std::vector<Tensor> params = net->parameters();
  Tensor unused = uniform({2, 5}, -1.0, 1.0).requires_grad_();
  params.insert(params.begin() + 1, unused);
  Tensor out = net->forward(uniform({8, 3}, -1.0, 1.0));
  auto losses = group_losses(out, {5, 3});
  for (GradSplitMode mode : {GradSplitMode::reference, GradSplitMode::fused}) {
    auto got = grad_split(losses, params, {mode, out, {5, 3}});
    const int64_t at = params[0].numel();
    for (const Tensor& g : got) {
      REQUIRE(g.numel() == 3 * 16 + 10 + 16 + 16 * 16 + 16 + 16 + 1);
      REQUIRE(max_abs_diff(g.narrow(0, at, 10), zeros({10})) == 0);
    }
    require_same(got, per_loss_grads(losses, params), 2e-5);
  }
}

TEST_CASE("grad_split checks its arguments", "[grad_split]") {
  Tensor w = uniform({3, 1}, -1.0, 1.0).requires_grad_();
  Tensor out = ops::matmul(uniform({4, 3}, -1.0, 1.0), w);
  auto losses = group_losses(out, {2, 2});
  REQUIRE_THROWS_NOVA(grad_split({}, {w}), "grad_split: expected at least one loss");
  REQUIRE_THROWS_NOVA(grad_split({out}, {w}), "grad_split: loss 0 must be a scalar, got shape [4, 1]");
  REQUIRE_THROWS_NOVA(grad_split(losses, {w, uniform({2}, 0.0, 1.0, kFloat64).requires_grad_()}),
                      "all parameters must share one dtype and device");
  REQUIRE_THROWS_NOVA(grad_split(losses, {w}, {GradSplitMode::fused, Tensor(), {2, 2}}),
                      "the fused path needs options.batch_output");
  REQUIRE_THROWS_NOVA(grad_split(losses, {w}, {GradSplitMode::fused, out, {2, 1, 1}}),
                      "one group size per loss: 2 losses, 3 group sizes");
  REQUIRE_THROWS_NOVA(grad_split(losses, {w}, {GradSplitMode::fused, out, {2, 3}}),
                      "group sizes add up to 5 rows, but batch_output [4, 1] has 4 rows");
  // no parameters: K empty vectors, and no .grad written
  for (GradSplitMode mode : {GradSplitMode::reference, GradSplitMode::fused}) {
    auto none = grad_split(losses, {}, {mode, out, {2, 2}});
    REQUIRE(none.size() == 2);
    REQUIRE(none[0].numel() == 0);
  }
  REQUIRE(!w.grad().defined());
}

// ---- grad_split: fused == reference ----

TEST_CASE("grad_split fused equals reference on MLP discriminators", "[grad_split]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    for (const Case& c : discriminators()) {
      for (std::vector<int64_t> groups : {std::vector<int64_t>{5, 9}, std::vector<int64_t>{4, 7, 6}}) {
        INFO(c.name << ", " << dtype_name(dtype) << ", " << groups.size() << " groups");
        Generator gen(11);
        manual_seed(11);
        auto net = c.make();
        net->to(dtype);
        randomize(*net, gen);
        int64_t n = 0;
        for (int64_t g : groups) n += g;
        Tensor x = uniform({n, 3}, -1.5, 1.5, dtype, kCPU, &gen);
        check_fused_equals_reference([&](const Tensor& t) { return net->forward(t); }, net->parameters(),
                                     x, groups, dtype);
      }
    }
  }
}

TEST_CASE("grad_split fused splits broadcast scale and bias parameters", "[grad_split]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    INFO(dtype_name(dtype));
    Generator gen(21);
    auto p = [&](const Shape& s) { return uniform(s, -0.9, 0.9, dtype, kCPU, &gen).requires_grad_(); };
    Tensor w1 = p({16, 3}), scale = p({16}), shift = p({1, 16}), s0 = p({}), w2 = p({1, 16}), b2 = p({1});
    std::vector<Tensor> params{w1, scale, shift, s0, w2, b2};
    auto model = [&](const Tensor& x) {
      Tensor h = ops::linear(x, w1);                // no bias
      h = ops::tanh(h * scale + shift) * s0;          // [16], [1, 16] and 0-d, broadcast over rows
      h = ops::elu(ops::clamp(h, -0.7, 0.7) + h.pow(3.0));
      return ops::linear(h, w2, b2);
    };
    Tensor x = uniform({13, 3}, -1.0, 1.0, dtype, kCPU, &gen);
    check_fused_equals_reference(model, params, x, {6, 7}, dtype);
    check_fused_equals_reference(model, params, x, {3, 4, 6}, dtype);
  }
}

TEST_CASE("grad_split fused: views, row-wise reductions and norms that keep rows apart", "[grad_split]") {
  Generator gen(31);
  auto p = [&](const Shape& s) { return uniform(s, -0.7, 0.7, kFloat64, kCPU, &gen).requires_grad_(); };
  Tensor w1 = p({12, 4}), b1 = p({12}), w2 = p({6, 12}), b2 = p({6}), ln_w = p({3, 4}), ln_b = p({3, 4}),
         bn_w = p({3}), bn_b = p({3}), w3 = p({1, 8});
  Tensor rm = uniform({3}, -0.5, 0.5, kFloat64, kCPU, &gen), rv = uniform({3}, 0.5, 1.5, kFloat64, kCPU, &gen);
  std::vector<Tensor> params{w1, b1, w2, b2, ln_w, ln_b, bn_w, bn_b, w3};
  auto model = [&](const Tensor& x) {                  // x [N, 5, 4]
    Tensor h = ops::tanh(ops::linear(x, w1, b1));    // linear of a 3-D input: rows N * 5
    h = ops::softmax(h, 2).transpose(1, 2);           // [N, 12, 5]
    h = ops::linear(h.transpose(1, 2), w2, b2);      // [N, 5, 6]
    h = h.reshape({h.size(0), 3, 10}).narrow(2, 1, 8).reshape({-1, 3, 2, 4});  // [N, 3, 2, 4]
    h = ops::layer_norm(h.sum({2}), {3, 4}, ln_w, ln_b);  // [N, 3, 4]
    h = ops::batch_norm(h, rm, rv, bn_w, bn_b, false);    // eval: running statistics
    Tensor feats = ops::cat({ops::logsumexp(h, {1, 2}, true).squeeze(2), h.mean({2}),
                             ops::amax(h, {2}), ops::var(h, {1, 2}, true, true).reshape({-1, 1})}, 1);
    return ops::linear(feats, w3).unsqueeze(1).squeeze(1);  // [N, 1]
  };
  Tensor x = uniform({11, 5, 4}, -1.0, 1.0, kFloat64, kCPU, &gen);
  // cat along dim 1 keeps rows apart (core/index.cpp): the fused path splits it
  check_fused_equals_reference(model, params, x, {5, 6}, kFloat64);
  // the same features joined with other row-local ops
  Tensor head;  // the last layer's weight
  auto model2 = [&](const Tensor& x) {
    Tensor h = ops::tanh(ops::linear(x, w1, b1));
    h = ops::softmax(h, 2).transpose(1, 2);
    h = ops::linear(h.transpose(1, 2), w2, b2);
    h = h.reshape({h.size(0), 3, 10}).narrow(2, 1, 8).reshape({-1, 3, 2, 4});
    h = ops::layer_norm(h.sum({2}), {3, 4}, ln_w, ln_b);
    h = ops::batch_norm(h, rm, rv, bn_w, bn_b, false);
    Tensor f = ops::logsumexp(h, {2}, false) + h.mean({2}) + ops::amax(h, {2}) + ops::var(h, {2}, true, false) +
               ops::norm(h, 2, {2}) + ops::max(h, 2).values;  // [N, 3]
    f = ops::log_softmax(f, 1).permute({0, 1}).contiguous().clone();
    Tensor g = ops::where(f > -1.0, f, f * 0.5);
    Tensor feats = ops::maximum(g, ops::minimum(g, f)).expand({g.size(0), 3}).slice(1, 0, 3);
    Tensor constant = ops::linear(ops::relu(feats), w3.narrow(1, 3, 3).detach());  // a weight without grad
    return ops::linear(feats, head) + constant;
  };
  params.pop_back();
  {
    // a slice of w3 as the weight: its per-group gradient runs back through
    // the slice once per group, into w3
    head = w3.narrow(1, 0, 3);
    std::vector<Tensor> with_w3 = params;
    with_w3.push_back(w3);
    check_fused_equals_reference(model2, with_w3, x, {5, 6}, kFloat64);
  }
  head = w3.narrow(1, 0, 3).detach();  // a constant: the remaining parameters split exactly
  check_fused_equals_reference(model2, params, x, {5, 6}, kFloat64);
  check_fused_equals_reference(model2, params, x, {2, 4, 5}, kFloat64);
}

TEST_CASE("grad_split fused: mixing rows before any parameter is harmless", "[grad_split]") {
  manual_seed(41);
  auto net = discriminators()[2].make();  // with LayerNorm
  net->to(kFloat64);
  Tensor x = uniform({12, 3}, -1.0, 1.0, kFloat64);
  // centring the batch mixes rows, but nothing before it has parameters
  check_fused_equals_reference([&](const Tensor& t) { return net->forward(t - t.mean({0}, true)); },
                               net->parameters(), x, {5, 7}, kFloat64);
}

TEST_CASE("grad_split fused uses the grouped rule an op attaches to its node", "[grad_split]") {
  Generator gen(61);
  auto p = [&](const Shape& s) { return uniform(s, -0.8, 0.8, kFloat64, kCPU, &gen).requires_grad_(); };
  Tensor w1 = p({6, 3}), w2 = p({1, 6});
  Tensor x = uniform({9, 3}, -1.0, 1.0, kFloat64, kCPU, &gen);
  auto model = [&](Declared declared) {
    return [&, declared](const Tensor& t) { return own_layer(ops::tanh(own_layer(t, w1, declared)), w2, declared); };
  };
  check_fused_equals_reference(model(Declared::grouped_rule), {w1, w2}, x, {4, 5}, kFloat64);
  check_fused_equals_reference(model(Declared::grouped_rule), {w1, w2}, x, {2, 3, 4}, kFloat64);
  // the plain backward ignores the rule: .grad is the sum of the split
  Tensor out = model(Declared::grouped_rule)(x);
  auto losses = group_losses(out, {4, 5});
  auto split = grad_split(losses, {w1, w2}, {GradSplitMode::fused, out, {4, 5}});
  (losses[0] + losses[1]).backward();
  REQUIRE(max_abs_diff(ops::narrow(split[0] + split[1], 0, 0, 18), ops::reshape(w1.grad(), {18})) <= 1e-12);
  // without the rule its weight gradient is summed over the whole batch
  out = model(Declared::row_local_only)(x);
  losses = group_losses(out, {4, 5});
  REQUIRE_THROWS_NOVA(grad_split(losses, {w1, w2}, {GradSplitMode::fused, out, {4, 5}}),
                      "a parameter of shape [1, 6] gets a gradient from own_layer that is summed over the whole batch");
  // not row-local: refused, with the op's hint
  out = model(Declared::not_row_local)(x);
  losses = group_losses(out, {4, 5});
  REQUIRE_THROWS_NOVA(grad_split(losses, {w1, w2}, {GradSplitMode::fused, out, {4, 5}}),
                      "cannot run own_layer backward: it is not row-local");
  REQUIRE_THROWS_NOVA(grad_split(losses, {w1, w2}, {GradSplitMode::fused, out, {4, 5}}),
                      "group's gradient) (own_layer's hint); use GradSplitMode::reference");
}

// ---- grad_split: the fused path refuses what it cannot split ----

TEST_CASE("grad_split fused refuses layers that mix rows", "[grad_split]") {
  manual_seed(51);
  auto l1 = std::make_shared<nn::Linear>(3, 8), l2 = std::make_shared<nn::Linear>(8, 1);
  std::vector<Tensor> params{l1->weight, l1->bias, l2->weight, l2->bias};
  Tensor x = uniform({10, 3}, -1.0, 1.0);
  std::vector<int64_t> groups{4, 6};
  auto refuses = [&](const std::function<Tensor(const Tensor&)>& middle, const std::string& text) {
    Tensor out = l2->forward(middle(l1->forward(x)));
    auto losses = group_losses(out, groups);
    REQUIRE_THROWS_NOVA(grad_split(losses, params, {GradSplitMode::fused, out, groups}), text);
    REQUIRE_THROWS_NOVA(grad_split(losses, params, {GradSplitMode::fused, out, groups}),
                        "use GradSplitMode::reference");
    // the reference path still answers
    require_same(grad_split(losses, params), per_loss_grads(losses, params), 0);
  };
  SECTION("softmax over dim 0") {
    refuses([](const Tensor& h) { return ops::softmax(h, 0); }, "cannot run softmax backward: it is not row-local");
  }
  SECTION("x - x.mean(0)") {
    // the mean's per-group gradient would reach h, which also gets the batch's
    refuses([](const Tensor& h) { return h - h.mean({0}, true); }, "receives both per-group gradients");
  }
  SECTION("batch_norm in training mode without RowGroupsGuard") {
    refuses([](const Tensor& h) { return ops::batch_norm(h, Tensor(), Tensor(), Tensor(), Tensor(), true); },
            "run the forward under RowGroupsGuard for per-group statistics");
  }
  SECTION("a transpose through dim 0") {
    refuses([](const Tensor& h) { return ops::matmul(h, h.t()).narrow(1, 0, 8); }, "not row-local");
  }
}

TEST_CASE("grad_split fused refuses weights it cannot split per group", "[grad_split]") {
  manual_seed(52);
  auto l1 = std::make_shared<nn::Linear>(3, 8);
  Tensor w = uniform({8, 1}, -1.0, 1.0).requires_grad_();
  Tensor x = uniform({10, 3}, -1.0, 1.0);
  std::vector<int64_t> groups{4, 6};
  SECTION("a plain matmul with a weight") {
    Tensor out = ops::matmul(ops::tanh(l1->forward(x)), w);
    auto losses = group_losses(out, groups);
    REQUIRE_THROWS_NOVA(grad_split(losses, {l1->weight, w}, {GradSplitMode::fused, out, groups}),
                        "a parameter of shape [8, 1] gets a gradient from matmul that is summed over the whole batch");
    // without w among the parameters the same graph splits (w is then a constant)
    auto got = grad_split(losses, {l1->weight, l1->bias}, {GradSplitMode::fused, out, groups});
    require_same(got, per_loss_grads(losses, {l1->weight, l1->bias}), 1e-6);
  }
  SECTION("a weight regulariser in a loss") {
    Tensor out = l1->forward(x).sum({1}, true);
    auto losses = group_losses(out, groups);
    losses[1] = losses[1] + ops::sum(ops::square(l1->weight)) * 0.01;
    REQUIRE_THROWS_NOVA(grad_split(losses, {l1->weight, l1->bias}, {GradSplitMode::fused, out, groups}),
                        "loss 1 depends on parameter 0 (shape [8, 3]) other than through batch_output");
  }
  SECTION("a parameter that is not a leaf") {
    Tensor w2 = w * 2.0;
    Tensor out = ops::matmul(ops::tanh(l1->forward(x)), w2);
    auto losses = group_losses(out, groups);
    REQUIRE_THROWS_NOVA(grad_split(losses, {w2}, {GradSplitMode::fused, out, groups}),
                        "parameters that are leaves; parameter 0 (shape [8, 1]) was computed by mul");
  }
}

TEST_CASE("grad_split fused splits through reparametrised weights", "[grad_split]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    INFO(dtype_name(dtype));
    manual_seed(54);
    auto l1 = std::make_shared<nn::Linear>(3, 8);
    auto sn = std::make_shared<nn::Linear>(8, 8, true, nn::SpectralNormOptions::on());
    l1->to(dtype);
    sn->to(dtype);
    Tensor v = uniform({1, 8}, -1.0, 1.0, dtype).requires_grad_();
    Tensor x = uniform({10, 3}, -1.0, 1.0, dtype);
    // exp(v) as a weight, and spectral norm's weight_orig / sigma (whose
    // power iteration runs in the forward, outside the graph)
    auto model = [&](const Tensor& t) {
      return ops::linear(ops::tanh(sn->forward(ops::tanh(l1->forward(t)))), ops::exp(v));
    };
    std::vector<Tensor> params{l1->weight, sn->spectral_norm.weight_orig, sn->bias, v};
    sn->eval();  // u and v fixed, so the reference path sees the same weight
    check_fused_equals_reference(model, params, x, {4, 6}, dtype);
    check_fused_equals_reference(model, params, x, {2, 3, 5}, dtype);
  }
}

TEST_CASE("grad_split fused splits conv nets with BatchNorm2d and conditional BatchNorm per group",
          "[grad_split][conv]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    INFO(dtype_name(dtype));
    manual_seed(56);
    auto c1 = std::make_shared<nn::Conv2d>(2, 4, 3, Conv2dArgs().padding(1));
    auto bn = std::make_shared<nn::BatchNorm2d>(4);
    auto c2 = std::make_shared<nn::Conv2d>(4, 3, 4, Conv2dArgs().stride(2).padding(1), true,
                                           nn::SpectralNormOptions::on());
    auto cbn = std::make_shared<nn::ConditionalBatchNorm2d>(3, 5);
    auto head = std::make_shared<nn::Linear>(3, 1);
    for (nn::Module* m : std::initializer_list<nn::Module*>{c1.get(), bn.get(), c2.get(), cbn.get(), head.get()})
      m->to(dtype);
    Generator gen(57);
    {
      NoGradGuard no_grad;  // gains and biases away from 1 and 0
      bn->weight.copy_(uniform({4}, 0.5, 1.5, dtype, kCPU, &gen));
      cbn->gamma.copy_(uniform({5, 3}, 0.5, 1.5, dtype, kCPU, &gen));
      cbn->beta.copy_(uniform({5, 3}, -0.5, 0.5, dtype, kCPU, &gen));
    }
    c2->eval();  // spectral norm's u and v fixed, so the reference path sees the same weight
    Tensor labels = from_vector<int64_t>({0, 4, 4, 1, 2, 0, 3, 3, 1}, {9});
    auto model = [&](const Tensor& x) {  // x [9, 2, 6, 6]
      Tensor h = ops::leaky_relu(bn->forward(c1->forward(x)), 0.2);
      h = ops::relu(cbn->forward(c2->forward(h), labels));  // [9, 3, 3, 3]
      return head->forward(ops::global_sum_pool2d(h));
    };
    std::vector<Tensor> params{c1->weight, c1->bias, bn->weight, bn->bias, c2->spectral_norm.weight_orig, c2->bias,
                               cbn->gamma, cbn->beta, head->weight, head->bias};
    Tensor x = uniform({9, 2, 6, 6}, -1.0, 1.0, dtype, kCPU, &gen);
    check_fused_equals_reference(model, params, x, {4, 5}, dtype);
    check_fused_equals_reference(model, params, x, {2, 3, 4}, dtype);
  }
}

TEST_CASE("grad_split fused splits embeddings and index ops within rows", "[grad_split]") {
  Generator gen(55);
  auto p = [&](const Shape& s) { return uniform(s, -0.9, 0.9, kFloat64, kCPU, &gen).requires_grad_(); };
  Tensor table = p({5, 4}), w1 = p({6, 7}), w2 = p({1, 6});
  Tensor labels = from_vector<int64_t>({0, 4, 4, 1, 2, 0, 3, 3, 1, 4, 2}, {11});
  Tensor pick = from_vector<int64_t>({2, 0, 1}, {3});
  auto model = [&](const Tensor& x) {  // x [11, 3]
    Tensor e = ops::embedding(table, labels);                          // [11, 4]
    Tensor h = ops::cat({ops::index_select(x, 1, pick), e}, 1);         // [11, 7]
    h = ops::tanh(ops::linear(h, w1));                                  // [11, 6]
    h = ops::flip(ops::pad(h, {1, 1}), {1}).narrow(1, 1, 6);             // within rows
    return ops::linear(h * ops::embedding(table, labels).narrow(1, 0, 1), w2);  // a class gain
  };
  Tensor x = uniform({11, 3}, -1.0, 1.0, kFloat64, kCPU, &gen);
  check_fused_equals_reference(model, {table, w1, w2}, x, {5, 6}, kFloat64);
  check_fused_equals_reference(model, {table, w1, w2}, x, {3, 3, 5}, kFloat64);
}

TEST_CASE("grad_split fused refuses a loss that reads another group's rows", "[grad_split]") {
  manual_seed(53);
  auto net = discriminators()[0].make();
  Tensor out = net->forward(uniform({10, 3}, -1.0, 1.0));
  std::vector<Tensor> losses{ops::mean(out.narrow(0, 0, 5)), ops::mean(ops::softplus(out.narrow(0, 4, 6)))};
  REQUIRE_THROWS_NOVA(grad_split(losses, net->parameters(), {GradSplitMode::fused, out, {4, 6}}),
                      "loss 0 depends on rows outside its group: its gradient with respect to batch_output is "
                      "nonzero in rows [4, 10) (group 1)");
  // groups in the wrong order are caught the same way
  auto ordered = group_losses(out, {4, 6});
  REQUIRE_THROWS_NOVA(grad_split({ordered[1], ordered[0]}, net->parameters(), {GradSplitMode::fused, out, {6, 4}}),
                      "depends on rows outside its group");
}

TEST_CASE("grad_split fused refuses BatchNorm groups that differ from the split", "[grad_split]") {
  manual_seed(54);
  auto net = discriminators()[3].make();
  Tensor x = uniform({10, 3}, -1.0, 1.0);
  Tensor out;
  {
    RowGroupsGuard guard({5, 5});
    out = net->forward(x);
  }
  auto losses = group_losses(out, {4, 6});
  REQUIRE_THROWS_NOVA(grad_split(losses, net->parameters(), {GradSplitMode::fused, out, {4, 6}}),
                      "batch_norm: the forward used per-group statistics for groups of [5, 5] rows");
}
