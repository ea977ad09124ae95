// tests/test_autogan_biggan.cpp: the AutoGAN and BigGAN models
// (models/autogan.h, models/biggan.h):
//   - output shapes, and the refusals of bad options and inputs;
//   - parameter counts of the full-size models equal those of the original
//     PyTorch code (tests/reference/count_autogan_biggan_params.py prints them);
//   - a training-mode forward of G and of D (on G's output) at a reduced width
//     equals PyTorch's on the same random weights, in float64
//     (tests/reference/{autogan,biggan,biggan_hier}_ref.safetensors, written by
//     that script), the BN statistics and SN vectors that forward leaves, and
//     AutoGAN D in eval mode;
//   - the in-place skip aliasing of AutoGAN's cells is what changes G's output;
//   - a few Adam steps lower a simple loss of each network;
//   - grad_split's fused path equals its reference on each discriminator, two groups.
#include <cmath>
#include <functional>
#include <memory>

#include "core/grad_split.h"
#include "models/autogan.h"
#include "models/biggan.h"
#include "nn/checkpoint.h"
#include "optim/optimizer.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using models::AutoganDiscriminator;
using models::AutoganGenerator;
using models::AutoganOptions;
using models::BigganDiscriminator;
using models::BigganGenerator;
using models::BigganOptions;

namespace {

int64_t count_parameters(const nn::Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

AutoganOptions small_autogan() {
  AutoganOptions o;
  o.z_dim = 32;
  o.gf_dim = 16;
  o.df_dim = 16;
  return o;
}

BigganOptions small_biggan() {
  BigganOptions o;
  o.z_dim = 32;
  o.g_ch = 4;
  o.d_ch = 4;
  return o;
}

Tensor labels_of(const std::vector<int64_t>& v) { return from_vector(v); }

/// The reference file's tensors; float32 weights become float64, as the
/// script computed with them.
StateDict load_reference(const std::string& name) {
  StateDict raw = nn::load_checkpoint(std::string(NOVA_REFERENCE_DIR) + "/" + name);
  StateDict out;
  for (const auto& [key, t] : raw) out.insert(key, t.dtype() == kFloat32 ? t.to(kFloat64) : t);
  return out;
}

/// REQUIREs |got - want| <= tol * max(1, max |want|).
void require_close(const Tensor& got, const Tensor& want, double tol);

/// Compares every "after.<net>.<key>" entry of ref (the state PyTorch's
/// training forward left: BN statistics, SN vectors) with the modules' state.
void require_state_after(const StateDict& ref, const nn::Module& g, const nn::Module& d) {
  StateDict gs = g.state_dict(), ds = d.state_dict();
  int compared = 0;
  for (const auto& [key, want] : ref) {
    if (key.rfind("after.", 0) != 0) continue;
    const std::string net = key.substr(6, 1), name = key.substr(8);
    INFO(key);
    const Tensor& got = (net == "G" ? gs : ds).at(name);
    if (want.dtype() == kInt64) {
      REQUIRE(values(got) == values(want));
    } else {
      require_close(got, want, 1e-11);
    }
    ++compared;
  }
  REQUIRE(compared >= 5);
}

void require_close(const Tensor& got, const Tensor& want, double tol) {
  REQUIRE(got.shape() == want.shape());
  double scale = 1;
  for (double w : values(want)) scale = std::max(scale, std::abs(w));
  double diff = max_abs_diff(got, want);
  INFO("max |diff| " << diff << ", bound " << tol * scale);
  REQUIRE(diff <= tol * scale);
}

}  // namespace

TEST_CASE("AutoGAN and BigGAN: output shapes", "[gan_models]") {
  Generator gen(3);
  {
    AutoganOptions o = small_autogan();
    AutoganGenerator g(o);
    AutoganDiscriminator d(o);
    Tensor img = g.forward(normal({2, 32}, 0, 1, kFloat32, kCPU, &gen));
    REQUIRE(img.shape() == Shape{2, 3, 32, 32});
    REQUIRE(d.forward(img).shape() == Shape{2, 1});
    REQUIRE(d.forward(uniform({2, 3, 48, 48}, -1, 1, kFloat32, kCPU, &gen)).shape() == Shape{2, 1});
    o.bottom_width = 6;
    REQUIRE(AutoganGenerator(o).forward(normal({2, 32}, 0, 1, kFloat32, kCPU, &gen)).shape() ==
            Shape{2, 3, 48, 48});
  }
  for (int variant = 0; variant < 3; ++variant) {
    INFO("variant " << variant);  // plain, shared embedding, shared + hierarchical
    BigganOptions o = small_biggan();
    o.shared_embedding = variant > 0;
    o.hierarchical = variant == 2;
    o.g_init = o.d_init = variant == 1 ? models::BigganInit::ortho : models::BigganInit::n02;
    BigganGenerator g(o);
    BigganDiscriminator d(o);
    Tensor y = labels_of({0, 9});
    Tensor img = g.forward(normal({2, 32}, 0, 1, kFloat32, kCPU, &gen), y);
    REQUIRE(img.shape() == Shape{2, 3, 32, 32});
    REQUIRE(d.forward(img, y).shape() == Shape{2, 1});
  }
}

TEST_CASE("AutoGAN and BigGAN: bad options and inputs throw", "[gan_models]") {
  AutoganOptions ao = small_autogan();
  AutoganGenerator ag(ao);
  AutoganDiscriminator ad(ao);
  REQUIRE_THROWS_WITH(ag.forward(zeros({2, 31})), Catch::Contains("AutoganGenerator: expected z [N, 32]"));
  REQUIRE_THROWS_WITH(ad.forward(zeros({2, 3, 30, 32})), Catch::Contains("multiples of 4"));
  ao.gf_dim = 0;
  REQUIRE_THROWS_WITH(AutoganGenerator(ao), Catch::Contains("must be > 0"));

  BigganOptions bo = small_biggan();
  BigganGenerator bg(bo);
  BigganDiscriminator bd(bo);
  REQUIRE_THROWS_WITH(bg.forward(zeros({2, 32}), Tensor()), Catch::Contains("expected int64/int32 labels [2]"));
  REQUIRE_THROWS_WITH(bg.forward(zeros({2, 32}), labels_of({1})), Catch::Contains("labels [2]"));
  REQUIRE_THROWS_WITH(bd.forward(zeros({2, 3, 16, 16}), labels_of({1, 2})),
                      Catch::Contains("expected images [N, 3, 32, 32]"));
  bo.hierarchical = true;
  REQUIRE_THROWS_WITH(BigganGenerator(bo), Catch::Contains("needs shared_embedding"));
}

TEST_CASE("AutoGAN and BigGAN: full-size parameter counts equal the original PyTorch code's", "[gan_models]") {
  // From tests/reference/count_autogan_biggan_params.py (PyTorch 2.15), which
  // rebuilds the official architectures; the same counts come from the
  // official modules themselves (autogan_cifar10_a.Generator/Discriminator
  // with gf_dim 256, df_dim 128; BigGAN.Generator/Discriminator at
  // resolution 32, G_ch = D_ch = 64, 10 classes, no attention).
  REQUIRE(count_parameters(AutoganGenerator()) == 4405251);
  REQUIRE(count_parameters(AutoganDiscriminator()) == 1053824);
  REQUIRE(count_parameters(BigganGenerator()) == 4304387);
  REQUIRE(count_parameters(BigganDiscriminator()) == 4207361);
  BigganOptions o;
  o.shared_embedding = true;
  REQUIRE(count_parameters(BigganGenerator(o)) == 4668163);
  o.hierarchical = true;
  REQUIRE(count_parameters(BigganGenerator(o)) == 4373251);
}

TEST_CASE("AutoGAN: training forward equals PyTorch's at a reduced width", "[gan_models]") {
  StateDict ref = load_reference("autogan_ref.safetensors");
  AutoganGenerator g(small_autogan());
  AutoganDiscriminator d(small_autogan());
  g.to(kFloat64);
  d.to(kFloat64);
  g.load_state_dict(sub_state(ref, "G"));  // strict: the official names, one to one
  d.load_state_dict(sub_state(ref, "D"));
  Tensor img = g.forward(ref.at("input.z"));
  require_close(img, ref.at("expected.G"), 1e-11);
  require_close(d.forward(ref.at("expected.G")), ref.at("expected.D"), 1e-11);
  require_state_after(ref, g, d);
  d.eval();  // the stored u and v, as torch.nn.utils.spectral_norm in eval
  require_close(d.forward(ref.at("expected.G")), ref.at("expected.D_eval"), 1e-11);

  // the aliasing matters: without it cell3 sees cell2's c1 output alone
  AutoganOptions clean = small_autogan();
  clean.inplace_skip = false;
  AutoganGenerator g2(clean);
  g2.to(kFloat64);
  g2.load_state_dict(sub_state(ref, "G"));
  REQUIRE(max_abs_diff(g2.forward(ref.at("input.z")), ref.at("expected.G")) > 1e-4);
}

TEST_CASE("BigGAN: training forward equals PyTorch's at a reduced width", "[gan_models]") {
  StateDict ref = load_reference("biggan_ref.safetensors");
  BigganGenerator g(small_biggan());
  BigganDiscriminator d(small_biggan());
  g.to(kFloat64);
  d.to(kFloat64);
  g.load_state_dict(sub_state(ref, "G"));
  d.load_state_dict(sub_state(ref, "D"));
  Tensor y = ref.at("input.labels");
  require_close(g.forward(ref.at("input.z"), y), ref.at("expected.G"), 1e-11);
  require_close(d.forward(ref.at("expected.G"), y), ref.at("expected.D"), 1e-11);
  require_state_after(ref, g, d);
}

TEST_CASE("BigGAN: shared embedding and hierarchical latent equal PyTorch's", "[gan_models]") {
  StateDict ref = load_reference("biggan_hier_ref.safetensors");
  BigganOptions o = small_biggan();
  o.g_ch = 2;
  o.shared_embedding = true;
  o.hierarchical = true;
  BigganGenerator g(o);
  REQUIRE(g.z_chunk == 8);
  g.to(kFloat64);
  g.load_state_dict(sub_state(ref, "G"));
  require_close(g.forward(ref.at("input.z"), ref.at("input.labels")), ref.at("expected.G"), 1e-11);
}

TEST_CASE("AutoGAN and BigGAN: a few Adam steps lower a simple loss", "[gan_models]") {
  Generator gen(11);
  Tensor z = normal({2, 32}, 0, 1, kFloat32, kCPU, &gen);
  Tensor target = uniform({2, 3, 32, 32}, -0.5, 0.5, kFloat32, kCPU, &gen);
  Tensor real = uniform({2, 3, 32, 32}, -1, 1, kFloat32, kCPU, &gen);
  Tensor y = labels_of({1, 2});
  // G: squared distance to fixed images; D: the non-saturating D loss on
  // fixed real images and G's (detached) output
  auto run = [&](nn::Module& net, const std::function<Tensor()>& loss) {
    optim::Adam opt(net.parameters(), optim::AdamOptions{1e-3, {0.0, 0.9}});
    double first = 0, last = 0;
    for (int step = 0; step < 4; ++step) {
      opt.zero_grad();
      Tensor l = loss();
      if (step == 0) first = l.item<double>();
      last = l.item<double>();
      l.backward();
      opt.step();
    }
    INFO(net.name() << ": loss " << first << " -> " << last);
    REQUIRE(last < first);
  };
  AutoganOptions ao = small_autogan();
  ao.gf_dim = ao.df_dim = 8;
  AutoganGenerator ag(ao);
  AutoganDiscriminator ad(ao);
  run(ag, [&] { return ops::mean(ops::square(ag.forward(z) - target)); });
  Tensor fake = ag.forward(z).detach();
  run(ad, [&] { return ops::mean(ops::softplus(-ad.forward(real))) + ops::mean(ops::softplus(ad.forward(fake))); });
  BigganOptions bo = small_biggan();
  bo.g_ch = bo.d_ch = 2;
  BigganGenerator bg(bo);
  BigganDiscriminator bd(bo);
  run(bg, [&] { return ops::mean(ops::square(bg.forward(z, y) - target)); });
  fake = bg.forward(z, y).detach();
  run(bd, [&] {
    return ops::mean(ops::softplus(-bd.forward(real, y))) + ops::mean(ops::softplus(bd.forward(fake, y)));
  });
}

namespace {

/// One loss per group of rows of out [N, 1]: the two halves of the
/// non-saturating D loss.
std::vector<Tensor> two_group_losses(const Tensor& out, const std::vector<int64_t>& groups) {
  return {ops::mean(ops::softplus(-out.narrow(0, 0, groups[0]))),
          ops::mean(ops::softplus(out.narrow(0, groups[0], groups[1])))};
}

/// grad_split's fused path against its reference path and against one
/// autograd::grad per loss (the pattern of tests/test_grad_split.cpp).
void check_fused_equals_reference(const std::function<Tensor(const Tensor&)>& model,
                                  const std::vector<Tensor>& params, const Tensor& x) {
  const std::vector<int64_t> groups{2, 3};
  Tensor out;
  {
    autograd::RowGroupsGuard guard(groups);
    out = model(x);
  }
  std::vector<Tensor> losses = two_group_losses(out, groups);
  std::vector<Tensor> reference = autograd::grad_split(losses, params);
  REQUIRE(reference.size() == 2);
  for (size_t k = 0; k < 2; ++k) {
    auto grads = autograd::grad({losses[k]}, params, {}, false, true, true);
    std::vector<Tensor> flat;
    for (size_t i = 0; i < params.size(); ++i)
      flat.push_back(grads[i].defined() ? grads[i].reshape({-1}) : zeros({params[i].numel()}, kFloat64));
    require_close(reference[k], ops::cat(flat, 0), 1e-13);
  }
  autograd::GradSplitOptions fused{autograd::GradSplitMode::fused, out, groups};
  std::vector<Tensor> got = autograd::grad_split(losses, params, fused);
  REQUIRE(got.size() == 2);
  for (size_t k = 0; k < 2; ++k) require_close(got[k], reference[k].detach(), 1e-12);
}

}  // namespace

TEST_CASE("AutoGAN and BigGAN: grad_split fused equals reference on the discriminators", "[gan_models]") {
  Generator gen(17);
  Tensor x = uniform({5, 3, 32, 32}, -1, 1, kFloat64, kCPU, &gen);
  {
    AutoganOptions o = small_autogan();
    o.df_dim = 8;
    AutoganDiscriminator d(o);
    d.to(kFloat64);
    check_fused_equals_reference([&](const Tensor& t) { return d.forward(t); }, d.parameters(), x);
  }
  {
    BigganOptions o = small_biggan();
    o.d_ch = 2;
    BigganDiscriminator d(o);
    d.to(kFloat64);
    Tensor y = labels_of({0, 3, 3, 7, 9});
    check_fused_equals_reference([&](const Tensor& t) { return d.forward(t, y); }, d.parameters(), x);
  }
}
