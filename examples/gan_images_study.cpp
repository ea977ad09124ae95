// examples/gan_images_study.cpp: the angle and score studies (see
// gan_images_study.h for what each measures).
#include "examples/gan_images_study.h"

#include <cmath>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "examples/line_plot_png.h"
#include "nn/gan_loss.h"
#include "optim/adaptive_weighting.h"
#include "optim/flat_parameters.h"

namespace nova::examples {

namespace {

constexpr Rgb kBlue{31, 119, 180}, kGreen{44, 160, 44}, kRed{214, 39, 40}, kOrange{255, 127, 14};

/// The batches of one study run: real rows and z, from Generator(seed).
struct Batches {
  const StudySetup& s;
  Generator gen;
  explicit Batches(const StudySetup& setup) : s(setup), gen(setup.seed) {}
  Tensor real() {
    const Tensor index = randint(0, s.train_images.size(0), {s.batch_d}, kInt64, kCPU, &gen);
    return ops::index_select(s.train_images, 0, index).to(s.device);
  }
  Tensor z(int64_t n) { return randn({n, s.z_dim}, kFloat32, s.device, &gen); }
};

Tensor generate(nn::Module& G, const Tensor& z) {
  NoGradGuard no_grad;
  return G(z);
}

/// One G step (the trainer's): the generator loss of D(G(z)), G's gradients only.
void g_step(const StudySetup& s, nn::Module& G, nn::Module& D, optim::Optimizer& opt, Batches& b) {
  Tensor loss = nn::generator_loss(s.d_step.objective.g_loss, D(G(b.z(s.batch_g))));
  optim::backward_into(loss, G.parameters());
  opt.step();
}

std::unique_ptr<models::GanDiscriminatorStep> d_stepper(const StudySetup& s, const std::shared_ptr<nn::Module>& D,
                                                        bool aw, const StateDict* adam_state = nullptr) {
  auto adam = std::make_unique<optim::Adam>(D->parameters(), s.adam);
  if (adam_state) adam->load_state_dict(*adam_state);
  if (!aw) return std::make_unique<models::GanDiscriminatorStep>(D, std::move(adam), s.d_step);
  return std::make_unique<models::GanDiscriminatorStep>(
      D, std::make_unique<optim::AdaptiveWeighting>(D->parameters(), std::move(adam)), s.d_step);
}

double mean_of(const std::vector<double>& v) {
  double sum = 0;
  int64_t n = 0;
  for (double x : v)
    if (std::isfinite(x)) sum += x, ++n;
  return n ? sum / double(n) : NAN;
}

/// Mean raw D output (logit) on `x` as a training forward computes it (one
/// power iteration of spectral norm first: in eval mode the stored vectors
/// of a fresh D give sigma near 0 and scores near -1e9), with D's buffers
/// put back afterwards, so that looking at D never changes its training.
double mean_score(nn::Module& D, const Tensor& x) {
  NoGradGuard no_grad;
  std::vector<Tensor> buffers = D.buffers(), saved;
  for (const Tensor& b : buffers) saved.push_back(b.clone());
  const double m = ops::mean(D(x)).item();
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i].copy_(saved[i]);
  return m;
}

/// A copy of every tensor of `state` (a StateDict shares the live tensors).
StateDict cloned(const StateDict& state) {
  StateDict out;
  for (const auto& [key, t] : state.items()) out.insert(key, t.clone());
  return out;
}

}  // namespace

int run_angles_study(const StudySetup& s) {
  struct Angles {
    std::vector<double> real_fake, update_real, update_fake;
  };
  Angles runs[2];
  for (int aw = 0; aw < 2; ++aw) {
    auto [G, D] = s.make_networks();
    optim::Adam opt_g(G->parameters(), s.adam);
    auto step = d_stepper(s, D, aw == 1);
    Batches b(s);
    for (int64_t it = 0; it < s.iterations; ++it) {
      const Tensor real = b.real(), fake = generate(*G, b.z(s.batch_d));
      models::GanDiscriminatorStepLog log = step->step(real, fake, b.gen, /*measure_angles=*/true);
      runs[aw].real_fake.push_back(log.angle_real_fake);
      runs[aw].update_real.push_back(log.angle_update_real);
      runs[aw].update_fake.push_back(log.angle_update_fake);
      g_step(s, *G, *step->discriminator(), opt_g, b);
    }
  }
  const char* names[2] = {"original", "aw"};
  for (int aw = 0; aw < 2; ++aw)
    fmt::print("angles, {} loss, mean over {} iterations: (grad L_r, grad L_f) {:.1f}, (grad L_r, update) {:.1f}, "
               "(grad L_f, update) {:.1f} degrees\n",
               names[aw], s.iterations, mean_of(runs[aw].real_fake), mean_of(runs[aw].update_real),
               mean_of(runs[aw].update_fake));
  if (!s.csv_path.empty()) {
    std::ofstream csv(s.csv_path);
    NOVA_CHECK(csv, "gan_images --study angles: cannot write {}", s.csv_path);
    csv << "loss,iteration,angle_real_fake,angle_update_real,angle_update_fake\n";
    for (int aw = 0; aw < 2; ++aw)
      for (int64_t i = 0; i < s.iterations; ++i)
        csv << fmt::format("{},{},{:.6g},{:.6g},{:.6g}\n", names[aw], i + 1, runs[aw].real_fake[size_t(i)],
                           runs[aw].update_real[size_t(i)], runs[aw].update_fake[size_t(i)]);
  }
  if (!s.png_path.empty()) {
    std::vector<LinePanel> panels;
    for (int aw = 0; aw < 2; ++aw)
      panels.push_back({fmt::format("{} loss: angles (degrees) per iteration", names[aw]),
                        {{"(Lr, Lf)", runs[aw].real_fake, kBlue},
                         {"(Lr, update)", runs[aw].update_real, kGreen},
                         {"(Lf, update)", runs[aw].update_fake, kRed}},
                        {90.0}});
    write_line_plot_png(s.png_path, panels);
  }
  return 0;
}

int run_scores_study(const StudySetup& s) {
  auto [G, D] = s.make_networks();
  optim::Adam opt_g(G->parameters(), s.adam);
  auto original = d_stepper(s, D, false);
  Batches b(s);
  std::vector<double> real_before, fake_before, real_orig, fake_orig, real_aw, fake_aw;
  for (int64_t it = 0; it < s.iterations; ++it) {
    const Tensor real = b.real(), fake = generate(*G, b.z(s.batch_d));
    real_before.push_back(mean_score(*D, real));
    fake_before.push_back(mean_score(*D, fake));
    // the aw step, from the same state: D (weights and buffers) and Adam's moments
    const StateDict d_state = cloned(D->state_dict());
    const StateDict adam_state = cloned(original->optimizer()->state_dict());
    {
      auto aw = d_stepper(s, D, true, &adam_state);
      Generator noise(s.seed + 7919 * uint64_t(it));  // the gradient penalty's points, if any
      aw->step(real, fake, noise);
      real_aw.push_back(mean_score(*D, real));
      fake_aw.push_back(mean_score(*D, fake));
    }
    D->load_state_dict(d_state);
    original->step(real, fake, b.gen);
    real_orig.push_back(mean_score(*D, real));
    fake_orig.push_back(mean_score(*D, fake));
    g_step(s, *G, *original->discriminator(), opt_g, b);
  }
  auto gaps = [](const std::vector<double>& r, const std::vector<double>& f) {
    std::vector<double> g;
    for (size_t i = 0; i < r.size(); ++i) g.push_back(r[i] - f[i]);
    return g;
  };
  const std::vector<double> gap_before = gaps(real_before, fake_before), gap_orig = gaps(real_orig, fake_orig),
                            gap_aw = gaps(real_aw, fake_aw);
  fmt::print("scores (mean D logit over {} iterations): before training real {:.3f} fake {:.3f}; after the original "
             "step real {:.3f} fake {:.3f}; after an aw step real {:.3f} fake {:.3f}\n",
             s.iterations, mean_of(real_before), mean_of(fake_before), mean_of(real_orig), mean_of(fake_orig),
             mean_of(real_aw), mean_of(fake_aw));
  fmt::print("gaps real - fake: before {:.3f}, after the original step {:.3f}, after an aw step {:.3f} "
             "(thesis, DCGAN on CIFAR-10, first epoch: real 0.248 original vs 0.921 aw; gap 1.262 vs 1.413)\n",
             mean_of(gap_before), mean_of(gap_orig), mean_of(gap_aw));
  if (!s.csv_path.empty()) {
    std::ofstream csv(s.csv_path);
    NOVA_CHECK(csv, "gan_images --study scores: cannot write {}", s.csv_path);
    csv << "iteration,real_before,fake_before,real_original,fake_original,real_aw,fake_aw\n";
    for (size_t i = 0; i < real_before.size(); ++i)
      csv << fmt::format("{},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g}\n", i + 1, real_before[i], fake_before[i],
                         real_orig[i], fake_orig[i], real_aw[i], fake_aw[i]);
  }
  if (!s.png_path.empty())
    write_line_plot_png(s.png_path,
                        {{"before training: mean D(x) and D(G(z))", {{"D(x)", real_before, kBlue}, {"D(G(z))", fake_before, kOrange}}, {}},
                         {"after the original step", {{"D(x)", real_orig, kBlue}, {"D(G(z))", fake_orig, kOrange}}, {}},
                         {"after an aw step", {{"D(x)", real_aw, kBlue}, {"D(G(z))", fake_aw, kOrange}}, {}},
                         {"gap D(x) - D(G(z))",
                          {{"before", gap_before, kBlue}, {"original", gap_orig, kGreen}, {"aw", gap_aw, kRed}},
                          {0.0}}});
  return 0;
}

}  // namespace nova::examples
