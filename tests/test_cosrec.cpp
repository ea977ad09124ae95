// tests/test_cosrec.cpp: CosRec and SCosRec (models/cosrec.h) and SCNN's
// layers (nn/symconv.h):
//   - parameter counts: the layers' C(C+1)nF/2 and C(C+1)mF/2; CosRec and
//     SCosRec at ML-1M's sizes against Table 4.1 (1.983M, 1.730M: the table
//     gives three decimals), and the Gowalla pair's difference;
//   - SCosRec equals CosRec on the full maps when CosRec's kernels are
//     W(S) and Q(R): scores, gradients and batch-norm running statistics,
//     in training mode, float64;
//   - SymmetricBatchNorm is BatchNorm2d of the unpacked map; the layers'
//     half-Glorot initialisation;
//   - a few Adam steps lower both models' loss.
#include <cmath>
#include <string>

#include "models/cosrec.h"
#include "nn/symconv.h"
#include "optim/optimizer.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

int64_t count(const nn::Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

/// CosRec's state for the full-map twin of an SCosRec state: every symmetric
/// conv weight replaced by its full kernel, everything else as it is.
StateDict full_map_twin(const models::CosRec& scosrec) {
  StateDict out;
  for (const auto& [name, t] : scosrec.state_dict()) {
    const bool conv_weight = name.find(".conv") != std::string::npos && name.rfind(".weight") == name.size() - 7;
    if (!conv_weight) {
      out.insert(name, t);
    } else if (name == "cnnBlock.0.conv1.weight") {
      out.insert(name, ops::sym_generating_kernel(t));
    } else {
      out.insert(name, ops::sym_preserving_kernel(t));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("symmetric layers have C(C+1)nF/2 and C(C+1)mF/2 weights", "[cosrec][symconv]") {
  nn::SymmetryGeneratingConv2d gen(50, 128, 3, 0, /*bias=*/false);
  REQUIRE(count(gen) == 3 * 4 * 50 * 128 / 2);
  nn::SymmetryPreservingConv2d pres(128, 256, 3);
  REQUIRE(count(pres) == 3 * 4 * 128 * 256 / 2 + 256);
  REQUIRE(gen.full_weight().shape() == Shape{128, 100, 3, 3});
  REQUIRE(pres.full_weight().shape() == Shape{256, 128, 3, 3});
}

TEST_CASE("symmetric layers start half-Glorot: std 1 / sqrt(2 (C_in + C_out)) of the full kernel's channels",
          "[cosrec][symconv]") {
  auto std_of = [](const Tensor& t) {
    const double mean = ops::mean(t).item<double>();
    return std::sqrt(ops::mean(ops::square(t - mean)).item<double>());
  };
  manual_seed(5);
  nn::SymmetryPreservingConv2d pres(128, 256, 3);
  REQUIRE(std::abs(std_of(pres.weight) / (1.0 / std::sqrt(2.0 * (128 + 256))) - 1.0) < 0.01);
  nn::SymmetryGeneratingConv2d gen(50, 128, 1);  // its full kernel reads 2 x 50 channels
  REQUIRE(std::abs(std_of(gen.weight) / (1.0 / std::sqrt(2.0 * (100 + 128))) - 1.0) < 0.03);
  REQUIRE(ops::max(ops::abs(pres.bias)).item<double>() <= 1.0 / std::sqrt(128.0 * 9));
}

TEST_CASE("CosRec and SCosRec have Table 4.1's parameter counts", "[cosrec]") {
  // ML-1M as Caser preprocessed it: 6,040 users, 3,416 items
  const int64_t cosrec = count(models::CosRec(models::CosRecOptions::ml1m(6040, 3416, false)));
  const int64_t scosrec = count(models::CosRec(models::CosRecOptions::ml1m(6040, 3416, true)));
  REQUIRE(cosrec == 1983118);
  REQUIRE(scosrec == 1730958);
  REQUIRE(std::abs(cosrec / 1e6 - 1.983) < 1e-3);
  REQUIRE(std::abs(scosrec / 1e6 - 1.730) < 1e-3);
  // Gowalla: the table's 5.641M - 5.383M, whatever the user and item counts
  const int64_t g_cosrec = count(models::CosRec(models::CosRecOptions::gowalla(100, 200, false)));
  const int64_t g_scosrec = count(models::CosRec(models::CosRecOptions::gowalla(100, 200, true)));
  REQUIRE(std::abs((g_cosrec - g_scosrec) / 1e6 - (5.641 - 5.383)) < 1e-3);
}

TEST_CASE("SymmetricBatchNorm is BatchNorm2d of the unpacked map", "[cosrec][symconv]") {
  nn::SymmetricBatchNorm sbn(3);
  nn::BatchNorm2d bn(3);
  sbn.to(kFloat64), bn.to(kFloat64);
  Tensor x = randn({4, 3, 10}, kFloat64);
  Tensor y = sbn.forward(x);
  REQUIRE(max_abs_diff(y, ops::sym_pack(bn.forward(ops::sym_unpack(x)))) <= 1e-12);
  REQUIRE(max_abs_diff(sbn.running_var, bn.running_var) <= 1e-12);
  REQUIRE_THROWS_NOVA(sbn.forward(randn({4, 2, 10}, kFloat64)), "SymmetricBatchNorm: expected packed input [N, 3");
}

TEST_CASE("SCosRec equals CosRec on the full maps with CosRec's kernels W(S) and Q(R)", "[cosrec][symconv]") {
  models::CosRecOptions o = models::CosRecOptions::ml1m(7, 30, true);
  o.d = 6, o.block_dims = {8, 5}, o.fc_dim = 4, o.dropout = 0.0;
  models::CosRec scosrec(o);
  o.symmetric = false;
  models::CosRec cosrec(o);
  scosrec.to(kFloat64), cosrec.to(kFloat64);
  cosrec.load_state_dict(full_map_twin(scosrec));
  Tensor seq = from_vector<int64_t>({1, 2, 3, 4, 5, 9, 8, 7, 6, 5, 0, 0, 11, 12, 13}, {3, 5});
  Tensor users = from_vector<int64_t>({0, 4, 6}), items = from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor a = scosrec.forward(seq, users, items), b = cosrec.forward(seq, users, items);
  REQUIRE(max_abs_diff(a, b) <= 1e-10);
  ops::sum(a * a).backward();
  ops::sum(b * b).backward();
  REQUIRE(max_abs_diff(scosrec.item_embeddings->weight.grad(), cosrec.item_embeddings->weight.grad()) <= 1e-10);
  REQUIRE(max_abs_diff(scosrec.fc1->weight.grad(), cosrec.fc1->weight.grad()) <= 1e-10);
  const StateDict c_state = cosrec.state_dict();
  for (const auto& [name, t] : scosrec.state_dict())
    if (name.find("running_") != std::string::npos) {
      INFO(name);
      REQUIRE(max_abs_diff(t, c_state.at(name)) <= 1e-12);
    }
  REQUIRE(max_abs_diff(scosrec.score_all(seq, users), cosrec.score_all(seq, users)) <= 1e-10);
  REQUIRE(scosrec.score_all(seq, users).shape() == Shape{3, 30});
}

TEST_CASE("a few Adam steps lower CosRec's and SCosRec's loss on a fixed batch", "[cosrec]") {
  for (bool symmetric : {false, true}) {
    INFO((symmetric ? "SCosRec" : "CosRec"));
    manual_seed(3);
    models::CosRecOptions o = models::CosRecOptions::ml1m(20, 50, symmetric);
    o.d = 8, o.block_dims = {16, 16}, o.fc_dim = 8;
    models::CosRec model(o);
    optim::AdamOptions adam_options;
    adam_options.lr = 1e-2;
    optim::Adam adam(model.parameters(), adam_options);
    Tensor seq = randint(1, 50, {32, 5}), users = randint(0, 20, {32});
    Tensor items = randint(1, 50, {32, 6});  // 3 targets, 3 negatives
    auto loss_of = [&] {
      Tensor s = model.forward(seq, users, items);
      Tensor pos = s.narrow(1, 0, 3), neg = s.narrow(1, 3, 3);
      return ops::mean(ops::softplus(-pos)) + ops::mean(ops::softplus(neg));
    };
    const double first = loss_of().item<double>();
    for (int step = 0; step < 40; ++step) {
      adam.zero_grad();
      loss_of().backward();
      adam.step();
    }
    INFO("loss " << first << " -> " << loss_of().item<double>());
    REQUIRE(loss_of().item<double>() < 0.5 * first);
  }
}
