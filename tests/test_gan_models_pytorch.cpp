// tests/test_gan_models_pytorch.cpp: nova's image-GAN models (models/dcgan.h,
// models/sngan.h) against PyTorch. tests/reference/make_gan_model_refs.py
// builds the same architectures in PyTorch (state_dict keys equal to nova's)
// and stores, at reduced widths, random weights, an input and the outputs of
// an eval forward and then a training forward, plus the buffers after it
// (spectral norm's u and v after one power iteration, BN running statistics)
// and the gradients of a weighted sum of the training output for the small
// parameters. This file loads each state into the nova model, runs the same
// forwards and backward and compares; it also checks the full-size parameter
// counts against the ones the script printed, and that grad_split's fused
// path equals the reference split on the DCGAN and SN-GAN discriminators
// (32x32 and 48x48, unconditional and with the projection head). Nothing
// here needs torch: the references are committed files.
#include <cmath>
#include <string>
#include <utility>

#include "core/grad_split.h"
#include "models/dcgan.h"
#include "models/sngan.h"
#include "nn/checkpoint.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;
using models::DcganDiscriminator;
using models::DcganGenerator;
using models::DcganOptions;
using models::SnganDiscriminator;
using models::SnganGenerator;
using models::SnganOptions;

namespace {

std::string reference_path(const std::string& name) {
  return std::string(NOVA_REFERENCE_DIR) + "/" + name + ".safetensors";
}

/// REQUIREs |got - want| <= tol * max(floor_scale, max |want|) elementwise.
/// nova runs in float32; the reference was computed in float64 on the same
/// float32 values (then rounded to float32), so the difference is nova's
/// rounding: sums of up to a few thousand products per output through up to
/// ~16 layers. 1e-4 of the output's scale bounds it with a wide margin (the
/// worst seen, outputs and gradients alike, is 1.7e-6).
/// (floor_scale: 1, or larger for a gradient that is zero by construction.)
void require_close(const Tensor& got, const Tensor& want, double tol, const std::string& what,
                   double floor_scale = 1) {
  INFO(what << ": got " << got.shape().str() << " want " << want.shape().str());
  REQUIRE(got.shape() == want.shape());
  std::vector<double> g = values(got), w = values(want);
  double scale = floor_scale, worst = 0;
  size_t worst_i = 0;
  for (double v : w) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < g.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= worst)) {
      worst = std::abs(g[i] - w[i]);
      worst_i = i;
    }
  INFO("worst element " << worst_i << " got " << g[worst_i] << " want " << w[worst_i] << " (|diff| " << worst
                        << ", bound " << tol * scale << ")");
  REQUIRE(worst <= tol * scale);
}

constexpr double kTol = 1e-4;

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : values(t)) m = std::max(m, std::abs(v));
  return m;
}

/// Loads the reference `name` into model, runs forward(input) in eval then in
/// training mode (the script's order) and compares both outputs and every
/// buffer after the training forward. `forward` calls the model.
template <typename Forward>
void check_against_reference(nn::Module& model, const std::string& name, const Forward& forward) {
  INFO("reference " << name);
  StateDict ref = nn::load_checkpoint(reference_path(name));
  model.load_state_dict(sub_state(ref, "model"));  // strict: the keys are nova's, one to one
  StateDict named;
  for (const auto& [key, p] : model.named_parameters()) named.insert(key, p);
  const Tensor& x = ref.at("input.x");
  const Tensor* labels = ref.find("input.labels");
  Tensor y = labels ? *labels : Tensor();
  model.eval();
  {
    NoGradGuard no_grad;  // as a sampler or an evaluation runs it
    require_close(forward(x, y), ref.at("output.eval"), kTol, "eval output");
  }
  model.train();  // with autograd on, as a training step runs it
  Tensor out = forward(x, y);
  REQUIRE(out.requires_grad());
  require_close(out.detach(), ref.at("output.train"), kTol, "training output");
  // d sum(r * out) / d param for the parameters the file holds (r [N, C]
  // broadcast over pixels): backward through BN's batch statistics and
  // spectral norm's sigma, as PyTorch's
  const Tensor& r = ref.at("input.grad_weights");
  Shape r_shape = r.shape();
  while (static_cast<int64_t>(r_shape.size()) < out.dim()) r_shape.push_back(1);
  StateDict want_grads = sub_state(ref, "grad");
  REQUIRE(want_grads.size() > 0);
  const std::vector<std::string> grad_keys = want_grads.keys();
  std::vector<Tensor> params;
  for (const std::string& key : grad_keys) params.push_back(named.at(key));
  std::vector<Tensor> grads = autograd::grad({ops::sum(out * r.reshape(r_shape))}, params);
  // A bias just before a batch-statistics BN has a zero gradient by
  // construction (the reference, in float64, holds ~1e-16); what float32
  // gives for it is the rounding of N*H*W terms that cancel, whose size
  // follows the gradients' overall scale, not its own. Such a gradient is
  // bounded relative to the largest gradient of the file; every other one
  // relative to its own largest element (and at least 1), as the outputs.
  double largest = 1;
  for (const auto& [key, g] : want_grads) largest = std::max(largest, max_abs(g));
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& key = grad_keys[i];
    const Tensor& want = want_grads.at(key);
    const bool zero_by_construction = max_abs(want) < 1e-9;
    require_close(grads[i], want, kTol, "gradient of " + key, zero_by_construction ? largest : 1.0);
  }
  StateDict after = sub_state(ref, "after");
  NamedTensors buffers = model.named_buffers();
  REQUIRE(buffers.size() == after.size());
  for (const auto& [key, value] : buffers) {
    INFO("buffer " << key);
    if (value.dtype() == kInt64) REQUIRE(values(value) == values(after.at(key)));
    else require_close(value, after.at(key), kTol, key);
  }
}

int64_t parameter_count(const nn::Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

auto plain = [](nn::Module& m) {
  return [&m](const Tensor& x, const Tensor&) { return m.forward(x); };
};

}  // namespace

TEST_CASE("DCGAN G and D equal PyTorch's (eval and training forward, u/v and running stats)",
          "[gan_models][pytorch]") {
  for (int64_t channels : {3, 1}) {
    const std::string c = std::to_string(channels);
    DcganOptions o;
    o.z_dim = 16;
    o.image_channels = channels;
    o.width = 4;
    DcganGenerator g(o);
    check_against_reference(g, "dcgan_g_c" + c, plain(g));
    DcganDiscriminator d(o);
    check_against_reference(d, "dcgan_d_c" + c, plain(d));
  }
}

TEST_CASE("SN-GAN ResNet G and D equal PyTorch's (32x32 and 48x48, unconditional and 10 classes)",
          "[gan_models][pytorch]") {
  auto gen_fwd = [](SnganGenerator& m) {
    return [&m](const Tensor& z, const Tensor& y) { return m.forward(z, y); };
  };
  auto dis_fwd = [](SnganDiscriminator& m) {
    return [&m](const Tensor& x, const Tensor& y) { return m.forward(x, y); };
  };
  for (int64_t classes : {0, 10}) {
    const std::string suffix = classes > 0 ? "_cond" : "";
    SnganOptions o;
    o.z_dim = 16;
    o.num_classes = classes;
    o.g_width = 16;
    o.d_width = 16;
    SnganGenerator g(o);
    check_against_reference(g, "sngan_g32" + suffix, gen_fwd(g));
    SnganDiscriminator d(o);
    check_against_reference(d, "sngan_d32" + suffix, dis_fwd(d));
  }
  for (int64_t classes : {0, 10}) {
    const std::string suffix = classes > 0 ? "_cond" : "";
    SnganOptions o;
    o.image_size = 48;
    o.z_dim = 8;
    o.num_classes = classes;
    o.g_width = 4;
    o.d_width = 2;
    SnganGenerator g(o);
    check_against_reference(g, "sngan_g48" + suffix, gen_fwd(g));
    SnganDiscriminator d(o);
    check_against_reference(d, "sngan_d48" + suffix, dis_fwd(d));
  }
}

TEST_CASE("GAN models have PyTorch's parameter counts at the papers' widths", "[gan_models][pytorch]") {
  // Printed by tests/reference/make_gan_model_refs.py under PyTorch 2.15.0
  // (the PyTorch modules with the same layers; trainable parameters only:
  // weight_orig counts once, u/v and BN statistics are buffers).
  auto dcgan = [](int64_t channels, int64_t size) {
    DcganOptions o;
    o.image_channels = channels;
    o.image_size = size;
    return o;
  };
  CHECK(parameter_count(DcganGenerator(dcgan(3, 32))) == 3813379);
  CHECK(parameter_count(DcganGenerator(dcgan(1, 32))) == 3812225);
  CHECK(parameter_count(DcganDiscriminator(dcgan(3, 32))) == 5860865);
  CHECK(parameter_count(DcganDiscriminator(dcgan(1, 32))) == 5859713);
  CHECK(parameter_count(DcganGenerator(dcgan(3, 48))) == 5134339);
  CHECK(parameter_count(DcganDiscriminator(dcgan(3, 48))) == 5871105);
  auto sngan = [](int64_t size, int64_t classes) {
    SnganOptions o;
    o.image_size = size;
    o.num_classes = classes;
    return o;
  };
  CHECK(parameter_count(SnganGenerator(sngan(32, 0))) == 4276739);
  CHECK(parameter_count(SnganDiscriminator(sngan(32, 0))) == 1053824);
  CHECK(parameter_count(SnganGenerator(sngan(32, 10))) == 4304387);
  CHECK(parameter_count(SnganDiscriminator(sngan(32, 10))) == 1055104);
  CHECK(parameter_count(SnganGenerator(sngan(48, 0))) == 4878083);
  CHECK(parameter_count(SnganDiscriminator(sngan(48, 0))) == 19542720);
  CHECK(parameter_count(SnganGenerator(sngan(48, 10))) == 4902275);
  CHECK(parameter_count(SnganDiscriminator(sngan(48, 10))) == 19552960);
}

// ---- grad_split on the image discriminators ----

namespace {

using autograd::grad_split;
using autograd::GradSplitMode;
using autograd::GradSplitOptions;
using autograd::RowGroupsGuard;

/// The discriminator's two GAN losses: real rows (softplus(-D)) and fake rows
/// (softplus(D)), each reading only its own group.
std::vector<Tensor> real_fake_losses(const Tensor& out, int64_t n_real, int64_t n_fake) {
  return {ops::mean(ops::softplus(-out.narrow(0, 0, n_real))), ops::mean(ops::softplus(out.narrow(0, n_real, n_fake)))};
}

std::vector<std::vector<double>> flat_values(const std::vector<Tensor>& flat) {
  std::vector<std::vector<double>> v;
  for (const Tensor& t : flat) v.push_back(values(t));
  return v;
}

void require_same_split(const std::vector<Tensor>& got, const std::vector<std::vector<double>>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    std::vector<double> g = values(got[k]);
    REQUIRE(g.size() == want[k].size());
    double scale = 1, worst = 0;
    for (double w : want[k]) scale = std::max(scale, std::abs(w));
    for (size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - want[k][i]));
    INFO("loss " << k << ": |diff| " << worst << ", bound " << tol * scale);
    REQUIRE(worst <= tol * scale);
  }
}

/// One training forward of `forward` on x under RowGroupsGuard({n_real,
/// n_fake}); the fused split must equal the reference split, and the
/// reference one autograd::grad per loss.
template <typename Forward>
void check_fused_split(nn::Module& model, const Forward& forward, const Tensor& x, int64_t n_real, int64_t n_fake,
                       DType dtype) {
  INFO(dtype_name(dtype));
  std::vector<int64_t> groups{n_real, n_fake};
  std::vector<Tensor> params = model.parameters();
  model.train();
  Tensor out;
  {
    RowGroupsGuard guard(groups);
    out = forward(x);
  }
  std::vector<Tensor> losses = real_fake_losses(out, n_real, n_fake);
  std::vector<std::vector<double>> want;
  for (const Tensor& loss : losses) {
    auto grads = autograd::grad({loss}, params, {}, false, true, true);
    std::vector<double> flat;
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<double> v = grads[i].defined() ? values(grads[i]) : std::vector<double>(params[i].numel(), 0.0);
      flat.insert(flat.end(), v.begin(), v.end());
    }
    want.push_back(flat);
  }
  std::vector<Tensor> reference = grad_split(losses, params);
  require_same_split(reference, want, dtype == kFloat64 ? 1e-14 : 1e-7);
  std::vector<Tensor> fused = grad_split(losses, params, GradSplitOptions{GradSplitMode::fused, out, groups});
  require_same_split(fused, flat_values(reference), dtype == kFloat64 ? 1e-12 : 2e-5);
}

}  // namespace

TEST_CASE("grad_split fused equals the reference split on the DCGAN and SN-GAN discriminators (32x32 and 48x48, "
          "unconditional and projection)",
          "[gan_models][grad_split]") {
  for (DType dtype : {kFloat64, kFloat32}) {
    Generator gen(7);
    {
      DcganOptions o;
      o.width = 2;
      DcganDiscriminator d(o);
      d.to(dtype);
      Tensor x = uniform({5, 3, 32, 32}, -1.0, 1.0, dtype, kCPU, &gen);
      check_fused_split(d, [&](const Tensor& t) { return d.forward(t); }, x, 2, 3, dtype);
    }
    // SN-GAN D: 32x32 (d_width 4) and 48x48 (d_width 2: 2..32 channels),
    // each with the projection head (10 classes) and without
    const std::pair<int64_t, int64_t> size_classes[] = {{32, 10}, {32, 0}, {48, 0}, {48, 10}};
    for (const auto& [size, classes] : size_classes) {
      INFO("SN-GAN D " << size << "x" << size << ", " << classes << " classes");
      SnganOptions o;
      o.image_size = size;
      o.num_classes = classes;
      o.d_width = size == 32 ? 4 : 2;
      SnganDiscriminator d(o);
      d.to(dtype);
      Tensor x = uniform({4, 3, size, size}, -1.0, 1.0, dtype, kCPU, &gen);
      Tensor labels = classes > 0 ? randint(0, classes, {4}, kInt64, kCPU, &gen) : Tensor();
      check_fused_split(d, [&](const Tensor& t) { return d.forward(t, labels); }, x, 2, 2, dtype);
    }
  }
}
