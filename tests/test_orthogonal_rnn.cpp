// tests/test_orthogonal_rnn.cpp: the NC-GRU, scoRNN and GORU cells
// (nn/orthogonal_rnn.h). Forward over a sequence equals a plain-loop float64
// reference of each cell's equations; gradients w.r.t. inputs, initial
// state, the ordinary weights and the orthogonal U match finite differences
// (and second derivatives those of the first; GORU's EUNN angles through
// the matrix they make); U is orthogonal at init; the two optimizers' parameter lists partition the
// parameters; a short parenthesis-task run with CayleyOptimizer + Adam lowers
// the loss and keeps U orthogonal; bad input is refused.
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "datasets/rnn_tasks.h"
#include "nn/linear.h"
#include "nn/orthogonal_rnn.h"
#include "optim/optimizer.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

// GORU: its own EUNN (FFT style), GORU_Cayley: the Cayley U option
enum class Kind { NCGRU_Uc, NCGRU_UrUc, ScoRNN, GORU, GORU_Cayley };
const Kind kAllKinds[] = {Kind::NCGRU_Uc, Kind::NCGRU_UrUc, Kind::ScoRNN, Kind::GORU, Kind::GORU_Cayley};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::NCGRU_Uc: return "NC-GRU(U_c)";
    case Kind::NCGRU_UrUc: return "NC-GRU(U_r, U_c)";
    case Kind::ScoRNN: return "scoRNN";
    case Kind::GORU: return "GORU";
    case Kind::GORU_Cayley: return "GORU (Cayley U)";
  }
  return "?";
}

std::shared_ptr<nn::OrthogonalCell> make_cell(Kind k, int64_t I, int64_t H, int64_t negative_ones, DType dtype,
                                              Generator* gen) {
  switch (k) {
    case Kind::NCGRU_Uc:
      return std::make_shared<nn::NCGRUCell>(
          I, H, nn::NCGRUOptions().negative_ones(negative_ones).dtype(dtype).generator(gen));
    case Kind::NCGRU_UrUc:
      return std::make_shared<nn::NCGRUCell>(
          I, H, nn::NCGRUOptions().orthogonal_reset(true).negative_ones(negative_ones).dtype(dtype).generator(gen));
    case Kind::ScoRNN:
      return std::make_shared<nn::ScoRNNCell>(I, H,
                                              nn::ScoRNNOptions().negative_ones(negative_ones).dtype(dtype).generator(gen));
    case Kind::GORU:  // EUNN has no D: negative_ones does not apply
      return std::make_shared<nn::GORUCell>(I, H, nn::GORUOptions().dtype(dtype).generator(gen));
    case Kind::GORU_Cayley:
      return std::make_shared<nn::GORUCell>(
          I, H,
          nn::GORUOptions().orthogonal(nn::GORUOrthogonal::cayley).negative_ones(negative_ones).dtype(dtype).generator(gen));
  }
  return nullptr;
}

// ---- the plain-loop reference, column-vector form as in the papers ----

/// A parameter's values by name, row-major.
std::map<std::string, std::vector<double>> parameter_values(const nn::Module& m) {
  std::map<std::string, std::vector<double>> out;
  for (const auto& [name, t] : m.named_parameters()) out[name] = values(t);
  return out;
}

/// (M v)_i for M [rows, v.size()] row-major.
std::vector<double> matvec(const std::vector<double>& M, const std::vector<double>& v) {
  const size_t cols = v.size(), rows = M.size() / cols;
  std::vector<double> out(rows, 0.0);
  for (size_t i = 0; i < rows; ++i)
    for (size_t j = 0; j < cols; ++j) out[i] += M[i * cols + j] * v[j];
  return out;
}

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double modrelu(double z, double b) {
  const double m = std::max(std::abs(z) + b, 0.0);
  return z > 0 ? m : (z < 0 ? -m : 0.0);
}

/// One step of cell kind k for one sample: h' from x and h.
std::vector<double> reference_step(Kind k, std::map<std::string, std::vector<double>>& p,
                                   const std::vector<double>& x, const std::vector<double>& h) {
  const size_t H = h.size();
  std::vector<double> out(H);
  if (k == Kind::ScoRNN) {
    const auto wx = matvec(p["W"], x), uh = matvec(p["U"], h);
    for (size_t i = 0; i < H; ++i) out[i] = modrelu(wx[i] + uh[i], p["b"][i]);
    return out;
  }
  if (k == Kind::GORU || k == Kind::GORU_Cayley) {
    const auto rx = matvec(p["W_r"], x), zx = matvec(p["W_z"], x), cx = matvec(p["W_h"], x);
    const auto rh = matvec(p["U_r"], h), zh = matvec(p["U_z"], h), uh = matvec(p["U"], h);
    for (size_t i = 0; i < H; ++i) {
      const double r = sigmoid(rx[i] + rh[i] + p["b_r"][i]);
      const double z = sigmoid(zx[i] + zh[i] + p["b_z"][i]);
      const double c = modrelu(cx[i] + r * uh[i], p["b_h"][i]);
      out[i] = z * h[i] + (1 - z) * c;
    }
    return out;
  }
  // NC-GRU, eq. (3.53)
  const auto rx = matvec(p["W_r"], x), ux = matvec(p["W_u"], x), cx = matvec(p["W_c"], x);
  const auto rh = matvec(p["U_r"], h), uh = matvec(p["U_u"], h);
  std::vector<double> r(H), u(H), rh_h(H);
  for (size_t i = 0; i < H; ++i) {
    r[i] = sigmoid(rx[i] + rh[i] + p["b_r"][i]);
    u[i] = sigmoid(ux[i] + uh[i] + p["b_u"][i]);
    rh_h[i] = r[i] * h[i];
  }
  const auto ucr = matvec(p["U_c"], rh_h);
  for (size_t i = 0; i < H; ++i) {
    const double c = modrelu(cx[i] + ucr[i], p["b_c"][i]);
    out[i] = (1 - u[i]) * h[i] + u[i] * c;
  }
  return out;
}

/// All hidden states [T, B, H] of the reference over x [T, B, I] from h0 [B, H].
std::vector<double> reference_sequence(Kind k, const nn::Module& cell, const Tensor& x, const Tensor& h0) {
  auto p = parameter_values(cell);
  // GORU's EUNN U is made from theta (eunn_matrix, checked on its own in
  // test_eunn.cpp); the reference multiplies by that matrix
  if (k == Kind::GORU) p["U"] = values(dynamic_cast<const nn::GORUCell&>(cell).recurrent_matrix());
  const int64_t T = x.size(0), B = x.size(1), I = x.size(2), H = h0.size(1);
  const std::vector<double> xv = values(x), hv = values(h0);
  std::vector<double> out(size_t(T * B * H));
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(hv.begin() + b * H, hv.begin() + (b + 1) * H);
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> xt(xv.begin() + (t * B + b) * I, xv.begin() + (t * B + b + 1) * I);
      h = reference_step(k, p, xt, h);
      std::copy(h.begin(), h.end(), out.begin() + (t * B + b) * H);
    }
  }
  return out;
}

/// max |U^T U - I|
double orthogonality_error(const Tensor& U) {
  const Tensor e = ops::sub(ops::matmul(U.t(), U), eye(U.size(0), -1, U.dtype(), U.device()));
  return max_abs_diff(e, zeros_like(e));
}

std::set<TensorImpl*> impls(const std::vector<Tensor>& ts) {
  std::set<TensorImpl*> out;
  for (const Tensor& t : ts) out.insert(t.impl());
  return out;
}

}  // namespace

TEST_CASE("orthogonal cells: a sequence equals the plain-loop float64 reference of their equations", "[orthogonal_rnn]") {
  const int64_t T = 6, B = 3, I = 4, H = 5;
  for (Kind k : kAllKinds) {
    INFO(kind_name(k));
    Generator gen(17);
    auto cell = make_cell(k, I, H, 2, kFloat64, &gen);
    const Tensor x = uniform({T, B, I}, -1.0, 1.0, kFloat64, kCPU, &gen);
    const Tensor h0 = uniform({B, H}, -1.0, 1.0, kFloat64, kCPU, &gen);
    const auto out = nn::run_sequence(*cell, x, h0);
    REQUIRE(out.outputs.shape() == Shape({T, B, H}));
    REQUIRE(out.last.shape() == Shape({B, H}));
    const std::vector<double> ref = reference_sequence(k, *cell, x, h0);
    CHECK(max_abs_diff(out.outputs, from_vector(ref, {T, B, H}, kFloat64)) < 1e-12);
    CHECK(max_abs_diff(out.last, ops::select(out.outputs, 0, T - 1)) == 0.0);

    // zeros as the default initial state
    const auto from_zero = nn::run_sequence(*cell, x);
    const std::vector<double> ref0 = reference_sequence(k, *cell, x, zeros({B, H}, kFloat64));
    CHECK(max_abs_diff(from_zero.outputs, from_vector(ref0, {T, B, H}, kFloat64)) < 1e-12);

    // batch-first is the same computation, transposed
    const auto bf = nn::run_sequence(*cell, ops::transpose(x, 0, 1).contiguous(), h0, true);
    REQUIRE(bf.outputs.shape() == Shape({B, T, H}));
    CHECK(max_abs_diff(bf.outputs, ops::transpose(out.outputs, 0, 1)) == 0.0);

    // one step by forward(x, h)
    const Tensor h1 = cell->forward(ops::select(x, 0, 0), h0);
    CHECK(max_abs_diff(h1, ops::select(out.outputs, 0, 0)) == 0.0);
  }
}

TEST_CASE("orthogonal cells: gradients match finite differences (inputs, state, weights, U)", "[orthogonal_rnn][grad]") {
  const int64_t T = 3, B = 2, I = 3, H = 4;
  for (Kind k : kAllKinds) {
    INFO(kind_name(k));
    Generator gen(23);
    auto cell = make_cell(k, I, H, 1, kFloat64, &gen);
    const Tensor x = uniform({T, B, I}, -1.0, 1.0, kFloat64, kCPU, &gen).requires_grad_();
    const Tensor h0 = uniform({B, H}, -1.0, 1.0, kFloat64, kCPU, &gen).requires_grad_();
    // every parameter but the A's (which the forward does not read: U is
    // regenerated from A by the Cayley step, outside autograd)
    std::vector<Tensor> inputs = {x, h0};
    for (const Tensor& p : cell->other_parameters()) inputs.push_back(p);
    for (const auto& w : cell->orthogonal_weights()) inputs.push_back(w.U);
    const GradcheckResult result = gradcheck([&] { return nn::run_sequence(*cell, x, h0).outputs; }, inputs);
    INFO(result.report);
    CHECK(result.ok);
  }
}

TEST_CASE("orthogonal cells: second derivatives match finite differences of the first", "[orthogonal_rnn][grad]") {
  // a sequence is one node whose create_graph backward differentiates the
  // loop recomputed as ops (autograd::recompute_grads), so backward
  // (create_graph) records too: what a gradient penalty on a recurrent
  // model needs
  const int64_t T = 2, B = 2, I = 2, H = 3;
  for (Kind k : kAllKinds) {
    INFO(kind_name(k));
    Generator gen(29);
    auto cell = make_cell(k, I, H, 1, kFloat64, &gen);
    const Tensor x = uniform({T, B, I}, -1.0, 1.0, kFloat64, kCPU, &gen).requires_grad_();
    const Tensor h0 = uniform({B, H}, -1.0, 1.0, kFloat64, kCPU, &gen).requires_grad_();
    std::vector<Tensor> inputs = {x, h0};
    for (const auto& w : cell->orthogonal_weights()) inputs.push_back(w.U);
    if (k == Kind::GORU) inputs.push_back(dynamic_cast<nn::GORUCell&>(*cell).theta);  // through the EUNN matrix
    const GradcheckResult result = gradgradcheck([&] { return nn::run_sequence(*cell, x, h0).outputs; }, inputs);
    INFO(result.report);
    CHECK(result.ok);
  }
}

TEST_CASE("orthogonal cells: U is orthogonal at init with the requested -1 entries in D", "[orthogonal_rnn]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (Kind k : kAllKinds) {
      INFO(kind_name(k) << " " << dtype_name(dtype));
      Generator gen(3);
      auto cell = make_cell(k, 5, 12, 4, dtype, &gen);
      const auto& ws = cell->orthogonal_weights();
      if (k == Kind::GORU) {  // EUNN: no Cayley weight; U is made from theta, orthogonal for any theta
        REQUIRE(ws.empty());
        CHECK(orthogonality_error(dynamic_cast<nn::GORUCell&>(*cell).recurrent_matrix()) < (dtype == kFloat64 ? 1e-12 : 1e-5));
        continue;
      }
      REQUIRE(ws.size() == (k == Kind::NCGRU_UrUc ? 2u : 1u));
      for (const auto& w : ws) {
        REQUIRE(w.U.shape() == Shape({12, 12}));
        CHECK(orthogonality_error(w.U) < (dtype == kFloat64 ? 1e-12 : 1e-5));
        CHECK(max_abs_diff(ops::add(w.A, w.A.t()), zeros_like(w.A)) == 0.0);
        const std::vector<double> d = values(w.D);
        for (size_t i = 0; i < d.size(); ++i) CHECK(d[i] == (i < 8 ? 1.0 : -1.0));
        CHECK(w.U.dtype() == dtype);
        CHECK(w.U.requires_grad());
      }
    }
  }
  // NC-GRU(U_r, U_c): U_r's D has as many -1s as U_c's unless told otherwise
  Generator gen(4);
  nn::NCGRUCell two(3, 6, nn::NCGRUOptions().orthogonal_reset(true).negative_ones(2).generator(&gen));
  CHECK(values(two.orthogonal_weights()[0].D) == values(two.orthogonal_weights()[1].D));
  nn::NCGRUCell other(
      3, 6, nn::NCGRUOptions().orthogonal_reset(true).negative_ones(2).reset_negative_ones(5).generator(&gen));
  CHECK(values(other.orthogonal_weights()[0].D) == std::vector<double>{1, -1, -1, -1, -1, -1});  // U_r
  CHECK(values(other.orthogonal_weights()[1].D) == std::vector<double>{1, 1, 1, 1, -1, -1});     // U_c
}

TEST_CASE("orthogonal cells: parameter names, and the two optimizers' lists partition them", "[orthogonal_rnn]") {
  Generator gen(1);
  auto names = [](const nn::Module& m) {
    std::vector<std::string> out;
    for (const auto& [name, t] : m.named_parameters()) out.push_back(name);
    return out;
  };
  auto buffer_names = [](const nn::Module& m) {
    std::vector<std::string> out;
    for (const auto& [name, t] : m.named_buffers()) out.push_back(name);
    return out;
  };
  auto uc = make_cell(Kind::NCGRU_Uc, 3, 4, 0, kFloat32, &gen);
  CHECK(names(*uc) == std::vector<std::string>{"W_r", "W_u", "W_c", "U_u", "U_r", "U_c", "A_c", "b_r", "b_u", "b_c"});
  CHECK(buffer_names(*uc) == std::vector<std::string>{"D_c"});
  auto urc = make_cell(Kind::NCGRU_UrUc, 3, 4, 0, kFloat32, &gen);
  CHECK(names(*urc) ==
        std::vector<std::string>{"W_r", "W_u", "W_c", "U_u", "U_r", "A_r", "U_c", "A_c", "b_r", "b_u", "b_c"});
  CHECK(buffer_names(*urc) == std::vector<std::string>{"D_r", "D_c"});
  auto sco = make_cell(Kind::ScoRNN, 3, 4, 0, kFloat32, &gen);
  CHECK(names(*sco) == std::vector<std::string>{"W", "U", "A", "b"});
  auto goru = make_cell(Kind::GORU_Cayley, 3, 4, 0, kFloat32, &gen);
  CHECK(names(*goru) == std::vector<std::string>{"W_r", "W_z", "W_h", "U_r", "U_z", "U", "A", "b_r", "b_z", "b_h"});
  auto eunn = make_cell(Kind::GORU, 3, 4, 0, kFloat32, &gen);
  CHECK(names(*eunn) == std::vector<std::string>{"W_r", "W_z", "W_h", "U_r", "U_z", "theta", "b_r", "b_z", "b_h"});
  CHECK(buffer_names(*eunn).empty());
  CHECK(dynamic_cast<nn::GORUCell&>(*eunn).theta.numel() == 4);  // 2 layers of 2 pairs

  for (Kind k : kAllKinds) {
    INFO(kind_name(k));
    auto cell = make_cell(k, 3, 4, 1, kFloat32, &gen);
    const std::set<TensorImpl*> all = impls(cell->parameters());
    const std::vector<Tensor> other = cell->other_parameters();
    std::vector<Tensor> orthogonal;
    for (const auto& w : cell->orthogonal_weights()) {
      orthogonal.push_back(w.U);
      orthogonal.push_back(w.A);
    }
    const std::set<TensorImpl*> o = impls(other), c = impls(orthogonal);
    CHECK(o.size() == other.size());
    CHECK(c.size() == orthogonal.size());
    for (TensorImpl* p : o) CHECK(c.count(p) == 0);  // no tensor in both lists
    std::set<TensorImpl*> both = o;
    both.insert(c.begin(), c.end());
    CHECK(both == all);  // and none left out
  }
}

TEST_CASE("orthogonal cells: a seed gives the same initial values", "[orthogonal_rnn]") {
  for (Kind k : kAllKinds) {
    INFO(kind_name(k));
    Generator g1(8), g2(8), g3(9);
    auto a = make_cell(k, 3, 6, 2, kFloat32, &g1), b = make_cell(k, 3, 6, 2, kFloat32, &g2);
    require_identical(a->state_dict(), b->state_dict());
    auto c = make_cell(k, 3, 6, 2, kFloat32, &g3);
    if (k == Kind::GORU)
      CHECK(max_abs_diff(dynamic_cast<nn::GORUCell&>(*a).theta, dynamic_cast<nn::GORUCell&>(*c).theta) > 0.0);
    else
      CHECK(max_abs_diff(a->orthogonal_weights()[0].A, c->orthogonal_weights()[0].A) > 0.0);
  }
}

TEST_CASE("orthogonal cells: to(dtype) keeps the orthogonal weights the cell's own", "[orthogonal_rnn]") {
  Generator gen(2);
  nn::NCGRUCell cell(3, 4, nn::NCGRUOptions().orthogonal_reset(true).generator(&gen));
  cell.to(kFloat64);
  const auto& ws = cell.orthogonal_weights();
  CHECK(ws[0].U.impl() == cell.U_r.impl());
  CHECK(ws[1].U.impl() == cell.U_c.impl());
  CHECK(ws[1].U.dtype() == kFloat64);
  CHECK(ws[1].A.dtype() == kFloat64);
  CHECK(ws[1].D.dtype() == kFloat64);
  CHECK(orthogonality_error(cell.U_c) < 1e-6);
}

TEST_CASE("orthogonal cells: CayleyOptimizer + Adam lower the parenthesis loss and keep U orthogonal", "[orthogonal_rnn][train]") {
  const int64_t T = 10, B = 16, H = 16, steps = 200;
  for (Kind k : kAllKinds) {
    INFO(kind_name(k));
    Generator gen(31);
    const datasets::ParenthesisOptions task;
    auto cell = make_cell(k, task.input_size(), H, 4, kFloat64, &gen);
    nn::Linear readout(H, task.output_size());
    readout.to(kFloat64);
    std::vector<Tensor> ordinary = cell->other_parameters();
    for (const Tensor& p : readout.parameters()) ordinary.push_back(p);
    optim::Adam adam(ordinary, optim::AdamOptions{1e-2});
    std::vector<Tensor> as;
    for (const auto& w : cell->orthogonal_weights()) as.push_back(w.A);
    // A at the thesis's lr 1e-3: the Neumann series' error per step grows as
    // the cube of the step, and 1e-2 lets it reach 1e-3 before a reset.
    // GORU's EUNN angles are ordinary parameters: Adam steps them.
    std::unique_ptr<optim::CayleyOptimizer> cayley;
    if (!as.empty())
      cayley = std::make_unique<optim::CayleyOptimizer>(
          cell->orthogonal_weights(), std::make_unique<optim::Adam>(as, optim::AdamOptions{1e-3}),
          optim::CayleyOptions{2, 50});
    const Tensor theta0 = k == Kind::GORU ? dynamic_cast<nn::GORUCell&>(*cell).theta.clone() : Tensor();
    double first = 0, last = 0, worst_orthogonality = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const auto batch = datasets::parenthesis_task(T, B, &gen, task, kFloat64);
      const Tensor loss = datasets::parenthesis_loss(readout.forward(nn::run_sequence(*cell, batch.inputs).outputs), batch);
      adam.zero_grad();
      if (cayley) cayley->zero_grad();
      loss.backward();
      adam.step();
      if (cayley) cayley->step();
      if (step < 20) first += loss.item<double>() / 20;
      if (step >= steps - 20) last += loss.item<double>() / 20;
      for (const auto& w : cell->orthogonal_weights())
        worst_orthogonality = std::max(worst_orthogonality, orthogonality_error(w.U));
      if (k == Kind::GORU)
        worst_orthogonality = std::max(worst_orthogonality,
                                       orthogonality_error(dynamic_cast<nn::GORUCell&>(*cell).recurrent_matrix()));
    }
    INFO("mean loss of the first 20 steps " << first << ", of the last 20 " << last << "; worst |U^T U - I| "
                                            << worst_orthogonality);
    CHECK(last < 0.6 * first);
    CHECK(worst_orthogonality < 1e-5);
    // U moved (it is trained, not frozen)
    for (const auto& w : cell->orthogonal_weights()) CHECK(max_abs_diff(w.A, zeros_like(w.A)) > 0.0);
    if (k == Kind::GORU) CHECK(max_abs_diff(dynamic_cast<nn::GORUCell&>(*cell).theta, theta0) > 0.0);
  }
}

TEST_CASE("orthogonal cells refuse bad arguments", "[orthogonal_rnn]") {
  Generator gen(5);
  CHECK_THROWS_WITH(nn::NCGRUCell(0, 4), Catch::Contains("NCGRUCell: sizes must be >= 1, got input_size=0"));
  CHECK_THROWS_WITH(nn::ScoRNNCell(3, 0), Catch::Contains("ScoRNNCell: sizes must be >= 1"));
  CHECK_THROWS_WITH(nn::NCGRUCell(3, 4, nn::NCGRUOptions().negative_ones(5)),
                    Catch::Contains("NCGRUCell: negative_ones of U_c must be in [0, hidden_size = 4], got 5"));
  CHECK_THROWS_WITH(nn::NCGRUCell(3, 4, nn::NCGRUOptions().orthogonal_reset(true).reset_negative_ones(9)),
                    Catch::Contains("negative_ones of U_r must be in [0, hidden_size = 4], got 9"));
  CHECK_THROWS_WITH(nn::GORUCell(3, 4, nn::GORUOptions().orthogonal(nn::GORUOrthogonal::cayley).negative_ones(-2)),
                    Catch::Contains("GORUCell: negative_ones of U must be in [0, hidden_size = 4], got -2"));
  CHECK_THROWS_WITH(nn::GORUCell(3, 4, nn::GORUOptions().negative_ones(1)),
                    Catch::Contains("GORUCell: negative_ones (1) is for the Cayley U"));
  CHECK_THROWS_WITH(nn::GORUCell(3, 4, nn::GORUOptions().orthogonal(nn::GORUOrthogonal::eunn_tunable).capacity(0)),
                    Catch::Contains("EunnLayout::tunable: need hidden_size >= 1 and capacity >= 1"));
  CHECK_THROWS_WITH(nn::GORUCell(3, 4, nn::GORUOptions().dtype(kInt64)),
                    Catch::Contains("GORUCell: dtype must be float32 or float64, got int64"));

  nn::NCGRUCell cell(3, 4, nn::NCGRUOptions().generator(&gen));
  CHECK_THROWS_WITH(nn::run_sequence(cell, zeros({5, 2})),
                    Catch::Contains("run_sequence: expected x [T, B, I] with I = 3, got [5, 2]"));
  CHECK_THROWS_WITH(nn::run_sequence(cell, zeros({5, 2, 4})), Catch::Contains("with I = 3, got [5, 2, 4]"));
  CHECK_THROWS_WITH(nn::run_sequence(cell, zeros({5, 2, 3}, kFloat64)),
                    Catch::Contains("run_sequence: x is float64 on cpu, the cell is float32 on cpu"));
  CHECK_THROWS_WITH(nn::run_sequence(cell, zeros({5, 2, 3}), zeros({3, 4})),
                    Catch::Contains("run_sequence: expected h0 [2, 4], got [3, 4]"));
  CHECK_THROWS_WITH(nn::run_sequence(cell, zeros({5, 2, 3}), zeros({2, 4}, kFloat64)),
                    Catch::Contains("run_sequence: h0 is float64 on cpu, x is float32 on cpu"));
  CHECK_THROWS_WITH(nn::run_sequence(cell, zeros({0, 2, 3})), Catch::Contains("need T >= 1 steps"));
  CHECK_THROWS_WITH(cell.forward(zeros({2, 3}), zeros({2, 5})),
                    Catch::Contains("NCGRUCell: expected h [2, 4], got [2, 5]"));
  CHECK_THROWS_WITH(cell.forward(zeros({2, 2}), zeros({2, 4})),
                    Catch::Contains("NCGRUCell: expected inputs [..., 3], got [2, 2]"));
  CHECK_THROWS_WITH(cell.step(zeros({2, 11}), zeros({2, 4})),
                    Catch::Contains("NCGRUCell: expected projected inputs [B, 12], got [2, 11]"));
  CHECK_THROWS_WITH(cell.forward(zeros({2, 3, 1}), zeros({2, 4})), Catch::Contains("NCGRUCell: expected x [B, 3]"));
}
