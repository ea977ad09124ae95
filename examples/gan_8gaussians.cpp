// examples/gan_8gaussians.cpp: the 8-Gaussian GAN of thesis section 2.1.5.3
// (Figure 2.6): a GAN learns a mixture of eight 2-D Gaussians on the unit
// circle, with the plain discriminator loss (baseline) or the adaptive
// weighted discriminator (aw, Algorithms 1 and 2, optim/adaptive_weighting.h).
// Set-up from THESIS-NOTES.md ("The 8-Gaussian experiment"): std 0.01, G and
// D two hidden layers of 128 tanh units, z of 256 normals, batch 512, Adam
// beta1 0.5, D lr 1e-4, G lr 1e-3, 25,000 steps.
//
// One training step:
//   D step  real ~ mixture, fake = G(z) (no grad); out = D(cat(real, fake))
//           once; d_real, d_fake = its two halves; s_r, s_f = mean sigmoid of
//           each; loss = nn::discriminator_loss(kind, d_real, d_fake).
//           baseline: backward of loss.total() and an Adam step.
//           aw: g_r, g_f = autograd::grad_split({loss.real, loss.fake}, D's
//           parameters) (fused: one backward over the 2B rows; reference mode
//           for wgan-gp/gn/pgn, whose double-backward graphs the fused path
//           refuses), then AdaptiveWeighting::step(g_r, g_f, s_r, s_f, g_extra)
//           whose inner optimizer is the baseline's own Adam (same lr and
//           betas: the comparison changes the weighting and nothing else).
//   G step  loss = nn::generator_loss(kind, D(G(z))); gradient over G's
//           parameters only; Adam step.
// Losses: bce (D: binary cross-entropy; G: the non-saturating loss
// -log sigmoid(D(G(z))), as the unrolled-GAN toy does), hinge, wgan (weights
// clipped to [-c, c] after each D step), wgan-gp (gradient penalty, lambda
// 10, as an extra gradient that aw adds unweighted), gn (GN-GAN: D's output
// replaced by f(x) / (||grad_x f(x)|| + |f(x)|), with the bce losses), pgn
// (PGN-GAN's penalty gradient normalisation, with the bce losses).
//
// Metrics (datasets/mixture_metrics.h, the unrolled-GAN/VEEGAN convention):
// a generated point is high quality within 3 std of its nearest centre; a
// mode is covered with >= 20 high-quality points of 2,500. At each snapshot
// (every 5,000 steps, as in Figure 2.6) the trainer also scores 100 real
// points per mode with D and prints the mean raw logit per mode (Figure 2.6
// rows 2 and 4).
//
//   gan_8gaussians [--loss bce] [--weighting none|aw1|aw2] [--steps 25000] ...
//   gan_8gaussians --compare --seeds 10 --steps 5000   (baseline vs aw, a table)
#include <omp.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/autograd.h"
#include "core/grad_split.h"
#include "core/ops.h"
#include "datasets/gaussian_mixture.h"
#include "datasets/mixture_metrics.h"
#include "examples/args.h"
#include "examples/scatter_png.h"
#include "models/gaussian_mixture_gan.h"
#include "nn/gan_loss.h"
#include "optim/adaptive_weighting.h"
#include "optim/optimizer.h"

using namespace nova;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---- configuration ----

enum class Weighting { none, aw1, aw2 };

struct LossSpec {
  std::string name;
  nn::GanLoss d_kind, g_kind;
  bool clip = false, penalty = false, normalize = false, penalty_normalize = false;
};

LossSpec loss_spec(const std::string& name) {
  using nn::GanLoss;
  if (name == "bce") return {name, GanLoss::minimax, GanLoss::non_saturating};
  if (name == "hinge") return {name, GanLoss::hinge, GanLoss::hinge};
  if (name == "wgan") return {name, GanLoss::wasserstein, GanLoss::wasserstein, true};
  if (name == "wgan-gp") return {name, GanLoss::wasserstein, GanLoss::wasserstein, false, true};
  if (name == "gn") return {name, GanLoss::minimax, GanLoss::non_saturating, false, false, true};
  if (name == "pgn") return {name, GanLoss::minimax, GanLoss::non_saturating, false, false, false, true};
  fail("gan_8gaussians: --loss must be bce, hinge, wgan, wgan-gp, gn or pgn, got \"{}\"", name);
}

struct Config {
  LossSpec loss;
  Weighting weighting = Weighting::none;
  int64_t steps = 0, batch = 0, eval_samples = 0, log_every = 0, csv_every = 0, plot_every = 0;
  double lr_d = 0, lr_g = 0, beta1 = 0, beta2 = 0, clip = 0, gp_lambda = 0;
  Device device = kCPU;
  std::string csv, modes_csv, plot_dir;
  std::string grad_split = "auto";  // auto | fused | reference
  datasets::MixtureMetricsOptions metrics;
  bool compare = false;
};

const char* method_name(Weighting w) {
  switch (w) {
    case Weighting::none: return "baseline";
    case Weighting::aw1: return "aw1";
    case Weighting::aw2: return "aw2";
  }
  return "?";
}

// ---- output: a progress bar on a terminal, periodic lines otherwise ----

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }

  /// Redraws the bar (at most ~10 times a second).
  void update(const std::string& label, int64_t step, int64_t total, const std::string& stats, double elapsed) {
    if (!enabled_) return;
    const auto now = Clock::now();
    if (step != total && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int kWidth = 24;
    const double frac = total > 0 ? double(step) / double(total) : 1.0;
    const int filled = int(frac * kWidth);
    std::string bar(size_t(filled), '=');
    if (filled < kWidth) bar += '>' + std::string(size_t(kWidth - filled - 1), ' ');
    const double eta = step > 0 ? elapsed * double(total - step) / double(step) : 0;
    std::fprintf(stderr, "\r\033[K%s [%s] %lld/%lld %s | %.0fs, eta %.0fs", label.c_str(), bar.c_str(),
                 (long long)step, (long long)total, stats.c_str(), elapsed, eta);
    std::fflush(stderr);
    drawn_ = true;
  }

  /// Erases the bar so that a line can go to stdout.
  void clear() {
    if (!enabled_ || !drawn_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  bool enabled_;
  bool drawn_ = false;
  Clock::time_point last_{};
};

/// Prints a line to stdout without tearing the progress bar.
template <typename... Args>
void say(Progress& progress, fmt::format_string<Args...> format, Args&&... args) {
  progress.clear();
  fmt::print(format, std::forward<Args>(args)...);
  std::fflush(stdout);
}

// ---- one training run ----

struct StepLog {
  double d_loss_real = 0, d_loss_fake = 0, g_loss = 0, s_r = 0, s_f = 0;
  int case_id = 0;  // 0: baseline (no case)
  double w_r = 1, w_f = 1;
  double angle_real_fake = NAN, angle_update_real = NAN, angle_update_fake = NAN;
};

struct RunResult {
  std::string method;
  uint64_t seed = 0;
  datasets::MixtureMetrics metrics;
  double seconds = 0;
  std::array<int64_t, 6> cases{};  // cases[1..5]: D steps that took each aw case
  StepLog last;
};

/// The gradient of `loss` over `params` as one flat vector (params' order;
/// zeros for a parameter the loss does not reach, e.g. D's last bias in the
/// gradient penalty, which depends only on grad_x D).
Tensor flat_grad(const Tensor& loss, const std::vector<Tensor>& params) {
  std::vector<Tensor> grads = autograd::grad({loss}, params, {}, false, /*allow_unused=*/true);
  std::vector<Tensor> flat;
  for (size_t i = 0; i < params.size(); ++i) {
    Tensor g = grads[i].defined() ? grads[i] : zeros_like(params[i]);
    flat.push_back(g.reshape({params[i].numel()}));
  }
  return ops::cat(flat, 0);
}

/// Angle in degrees between two flat vectors, as AdaptiveWeighting reports
/// it (90 when either is zero).
double angle_between(const Tensor& a, const Tensor& b) {
  NoGradGuard no_grad;
  return optim::angle_degrees(ops::sum(a * b).item(), ops::sum(a * a).item(), ops::sum(b * b).item());
}

class Run {
 public:
  Run(const Config& cfg, Weighting weighting, uint64_t seed, Progress& progress, std::ofstream* csv,
      std::ofstream* modes_csv, const std::string& label)
      : cfg_(cfg),
        weighting_(weighting),
        seed_(seed),
        progress_(progress),
        csv_(csv),
        modes_csv_(modes_csv),
        label_(label),
        gen_(seed),
        eval_gen_(seed ^ 0x9E3779B97F4A7C15ULL) {
    // same seed -> same initial weights and data stream for baseline and aw
    Generator init(seed * 2654435761ULL + 1);
    G_ = models::mixture_generator(net_, &init);
    D_ = models::mixture_discriminator(net_, &init);
    G_->to(cfg.device);
    D_->to(cfg.device);
    d_params_ = D_->parameters();
    g_params_ = G_->parameters();
    const optim::AdamOptions adam_d{cfg.lr_d, {cfg.beta1, cfg.beta2}}, adam_g{cfg.lr_g, {cfg.beta1, cfg.beta2}};
    opt_g_ = std::make_unique<optim::Adam>(g_params_, adam_g);
    if (weighting == Weighting::none) {
      opt_d_ = std::make_unique<optim::Adam>(d_params_, adam_d);
    } else {
      optim::AdaptiveWeightingOptions aw;
      aw.normalized = weighting == Weighting::aw1;
      aw_ = std::make_unique<optim::AdaptiveWeighting>(d_params_, std::make_unique<optim::Adam>(d_params_, adam_d),
                                                       aw);
    }
    // fixed evaluation inputs: every snapshot looks at the same z and real points
    eval_z_ = randn({cfg.eval_samples, net_.z_dim}, kFloat32, cfg.device, &eval_gen_);
    const int64_t modes = mixture_.centres.size(0);
    std::vector<Tensor> per_mode;
    for (int64_t k = 0; k < modes; ++k)
      per_mode.push_back(mixture_.centres.narrow(0, k, 1) +
                         normal({kRealPerMode, 2}, 0.0, mixture_.std, kFloat32, kCPU, &eval_gen_));
    eval_real_ = ops::cat(per_mode, 0).to(cfg.device);
  }

  RunResult train() {
    start_ = Clock::now();
    RunResult r;
    r.method = method_name(weighting_);
    r.seed = seed_;
    if (!cfg_.plot_dir.empty()) {
      Generator g(seed_);
      examples::write_scatter_png(plot_path("target", 0), mixture_.sample(cfg_.eval_samples, g), mixture_.centres);
    }
    for (int64_t step = 1; step <= cfg_.steps; ++step) {
      const bool logged = (csv_ && cfg_.csv_every > 0 && (step % cfg_.csv_every == 0 || step == cfg_.steps));
      StepLog log = d_step(logged);
      log.g_loss = g_step();
      ++r.cases[size_t(log.case_id)];
      r.last = log;
      const double elapsed = seconds_since(start_);
      if (logged) write_csv(step, log, elapsed);
      if (!cfg_.compare && !progress_.enabled() && cfg_.log_every > 0 &&
          (step % cfg_.log_every == 0 || step == cfg_.steps))
        say(progress_, "step {:>6}/{}  {}  {:.1f}s\n", step, cfg_.steps, stats(log), elapsed);
      progress_.update(label_, step, cfg_.steps, stats(log), elapsed);
      if (cfg_.plot_every > 0 && (step % cfg_.plot_every == 0 || step == cfg_.steps)) snapshot(step);
    }
    r.metrics = evaluate();
    r.seconds = seconds_since(start_);
    return r;
  }

 private:
  static constexpr int64_t kRealPerMode = 100;  // Figure 2.6: 100 real points per mode

  /// D's score of x: the raw output, or its gradient normalisation (gn, pgn),
  /// which needs x to require grad.
  Tensor discriminate(const Tensor& x) {
    if (!cfg_.loss.normalize && !cfg_.loss.penalty_normalize) return (*D_)(x);
    Tensor input = x.requires_grad() ? x : x.detach().requires_grad_();
    Tensor f = (*D_)(input);
    if (cfg_.loss.normalize) return nn::gradient_normalize(f, input);
    return nn::penalty_gradient_normalize(f, input);
  }

  bool fused_split() const {
    if (cfg_.grad_split != "auto") return cfg_.grad_split == "fused";
    return !(cfg_.loss.penalty || cfg_.loss.normalize || cfg_.loss.penalty_normalize);
  }

  /// g_r, g_f: the flat gradients of loss.real and loss.fake over D's parameters.
  std::vector<Tensor> split_gradients(const nn::DiscriminatorLoss& loss, const Tensor& out) {
    autograd::GradSplitOptions split;
    if (fused_split()) {
      split.mode = autograd::GradSplitMode::fused;
      split.batch_output = out;
      split.group_sizes = {cfg_.batch, cfg_.batch};
    }
    return autograd::grad_split({loss.real, loss.fake}, d_params_, split);
  }

  /// The Figure 2.4 angles of a baseline step (logged steps only): a second
  /// forward on the same batch, split into g_r and g_f, whose sum is the
  /// baseline's update. The training step itself stays the plain backward, so
  /// logging never changes the run. (The wgan-gp penalty is left out of this
  /// update: recomputing it would draw new interpolation points.)
  void baseline_angles(const Tensor& real, const Tensor& fake, StepLog& log) {
    Tensor out = discriminate(ops::cat({real, fake}, 0));
    nn::DiscriminatorLoss loss =
        nn::discriminator_loss(cfg_.loss.d_kind, out.narrow(0, 0, cfg_.batch), out.narrow(0, cfg_.batch, cfg_.batch));
    std::vector<Tensor> g = split_gradients(loss, out);
    NoGradGuard no_grad;
    Tensor update = g[0] + g[1];
    log.angle_real_fake = angle_between(g[0], g[1]);
    log.angle_update_real = angle_between(update, g[0]);
    log.angle_update_fake = angle_between(update, g[1]);
  }

  StepLog d_step(bool logged) {
    const int64_t B = cfg_.batch;
    Tensor real = mixture_.sample(B, gen_).to(cfg_.device);
    Tensor z = randn({B, net_.z_dim}, kFloat32, cfg_.device, &gen_);
    Tensor fake;
    {
      NoGradGuard no_grad;
      fake = (*G_)(z);
    }
    Tensor out = discriminate(ops::cat({real, fake}, 0));  // one forward over 2B rows
    Tensor d_real = out.narrow(0, 0, B), d_fake = out.narrow(0, B, B);
    nn::DiscriminatorLoss loss = nn::discriminator_loss(cfg_.loss.d_kind, d_real, d_fake);
    StepLog log;
    {
      NoGradGuard no_grad;
      log.s_r = ops::mean(ops::sigmoid(d_real)).item();
      log.s_f = ops::mean(ops::sigmoid(d_fake)).item();
      log.d_loss_real = loss.real.item();
      log.d_loss_fake = loss.fake.item();
    }
    Tensor penalty;
    if (cfg_.loss.penalty)
      penalty = nn::gradient_penalty([this](const Tensor& x) { return (*D_)(x); }, real, fake, gen_) *
                cfg_.gp_lambda;

    if (weighting_ == Weighting::none) {
      if (logged) baseline_angles(real, fake, log);
      opt_d_->zero_grad();
      (penalty.defined() ? loss.total() + penalty : loss.total()).backward();
      opt_d_->step();
    } else {
      std::vector<Tensor> g = split_gradients(loss, out);
      Tensor g_extra;
      if (penalty.defined()) g_extra = flat_grad(penalty, d_params_);
      optim::AdaptiveWeightingReport rep = aw_->step(g[0], g[1], log.s_r, log.s_f, g_extra);
      log.case_id = rep.case_id;
      log.w_r = rep.w_r;
      log.w_f = rep.w_f;
      log.angle_real_fake = rep.angle_real_fake;
      log.angle_update_real = rep.angle_update_real;
      log.angle_update_fake = rep.angle_update_fake;
    }
    if (cfg_.loss.clip) nn::clip_weights_(d_params_, cfg_.clip);
    return log;
  }

  double g_step() {
    Tensor z = randn({cfg_.batch, net_.z_dim}, kFloat32, cfg_.device, &gen_);
    Tensor loss = nn::generator_loss(cfg_.loss.g_kind, discriminate((*G_)(z)));
    // only G's gradients: D's weight gradients would be computed and thrown away
    std::vector<Tensor> grads = autograd::grad({loss}, g_params_);
    for (size_t i = 0; i < g_params_.size(); ++i) g_params_[i].set_grad(grads[i]);
    opt_g_->step();
    return loss.item();
  }

  std::string stats(const StepLog& l) const {
    std::string s = fmt::format("d_real {:.3f} d_fake {:.3f} g {:.3f} s_r {:.2f} s_f {:.2f}", l.d_loss_real,
                                l.d_loss_fake, l.g_loss, l.s_r, l.s_f);
    if (l.case_id > 0) s += fmt::format(" case {} w_r {:.2f} w_f {:.2f}", l.case_id, l.w_r, l.w_f);
    return s;
  }

  void write_csv(int64_t step, const StepLog& l, double elapsed) {
    auto num = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6g}", v); };
    *csv_ << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f}\n", method_name(weighting_), seed_, step,
                         num(l.d_loss_real), num(l.d_loss_fake), num(l.g_loss), num(l.s_r), num(l.s_f), l.case_id,
                         num(l.w_r), num(l.w_f), num(l.angle_real_fake), num(l.angle_update_real),
                         num(l.angle_update_fake), elapsed);
    csv_->flush();  // a long run's log can be followed while it trains
  }

  std::string plot_path(const std::string& what, int64_t step) const {
    if (what == "target") return fmt::format("{}/target.png", cfg_.plot_dir);
    return fmt::format("{}/{}_seed{}_step{:06d}.png", cfg_.plot_dir, method_name(weighting_), seed_, step);
  }

  /// Generated points of the fixed evaluation z.
  Tensor generate() {
    NoGradGuard no_grad;
    return (*G_)(eval_z_);
  }

  datasets::MixtureMetrics evaluate() { return datasets::mixture_metrics(mixture_, generate(), cfg_.metrics); }

  /// Figure 2.6 at `step`: metrics, the scatter PNG, D's mean score per mode.
  void snapshot(int64_t step) {
    Tensor points = generate();
    auto m = datasets::mixture_metrics(mixture_, points, cfg_.metrics);
    if (!cfg_.plot_dir.empty()) examples::write_scatter_png(plot_path("", step), points, mixture_.centres);
    const int64_t modes = mixture_.centres.size(0);
    std::vector<double> scores;
    {
      autograd::GradModeGuard grad_mode(cfg_.loss.normalize || cfg_.loss.penalty_normalize);
      Tensor s = discriminate(eval_real_).detach().reshape({modes, kRealPerMode});
      scores = ops::mean(s, {1}).to(kCPU).to(kFloat64).to_vector<double>();
    }
    if (!cfg_.compare) {
      std::string per_mode;
      for (double s : scores) per_mode += fmt::format(" {:+.2f}", s);
      say(progress_, "snapshot step {:>6}: {}; D(real) mean score per mode:{}\n", step, m.summary(), per_mode);
    }
    if (modes_csv_)
      for (int64_t k = 0; k < modes; ++k)
        *modes_csv_ << fmt::format("{},{},{},{},{:.6g},{}\n", method_name(weighting_), seed_, step, k,
                                   scores[size_t(k)], m.high_quality_per_mode[size_t(k)]);
    if (modes_csv_) modes_csv_->flush();
  }

  const Config& cfg_;
  Weighting weighting_;
  uint64_t seed_;
  Progress& progress_;
  std::ofstream* csv_;
  std::ofstream* modes_csv_;
  std::string label_;
  Generator gen_, eval_gen_;
  models::MixtureGanOptions net_;
  datasets::GaussianMixture mixture_ = datasets::ring_of_gaussians();
  std::shared_ptr<nn::Sequential> G_, D_;
  std::vector<Tensor> d_params_, g_params_;
  std::unique_ptr<optim::Adam> opt_g_, opt_d_;
  std::unique_ptr<optim::AdaptiveWeighting> aw_;
  Tensor eval_z_, eval_real_;
  Clock::time_point start_;
};

// ---- reporting ----

std::string case_histogram(const RunResult& r) {
  if (r.method == "baseline") return "-";
  std::string s;
  for (int c = 1; c <= 5; ++c) s += fmt::format("{}{}", c > 1 ? " " : "", r.cases[size_t(c)]);
  return s;
}

void print_final(const RunResult& r, const Config& cfg) {
  std::string per_mode;
  for (int64_t c : r.metrics.high_quality_per_mode) per_mode += fmt::format("{}{}", per_mode.empty() ? "" : ",", c);
  fmt::print("high-quality points per mode: {}\n", per_mode);
  if (r.method != "baseline") fmt::print("aw cases 1..5 (D steps): {}\n", case_histogram(r));
  fmt::print("final: method={} loss={} seed={} steps={} modes_covered={} modes={} high_quality_pct={:.2f} "
             "seconds={:.2f}\n",
             r.method, cfg.loss.name, r.seed, cfg.steps, r.metrics.modes_covered, r.metrics.modes,
             r.metrics.high_quality_percent, r.seconds);
}

void print_compare_table(const std::vector<RunResult>& runs, const Config& cfg) {
  fmt::print("\n{:<6} {:<9} {:>7} {:>8} {:>8}  {}\n", "seed", "method", "modes", "hq %", "wall s",
             "aw cases 1..5 (D steps)");
  for (const auto& r : runs)
    fmt::print("{:<6} {:<9} {:>4}/{:<2} {:>8.1f} {:>8.1f}  {}\n", r.seed, r.method, r.metrics.modes_covered,
               r.metrics.modes, r.metrics.high_quality_percent, r.seconds, case_histogram(r));
  fmt::print("\nsummary over {} seeds ({} steps each, loss {}):\n", runs.size() / 2, cfg.steps, cfg.loss.name);
  fmt::print("{:<9} {:>11} {:>10} {:>10} {:>8}  {}\n", "method", "mean modes", "all modes", "mean hq %", "mean s",
             "aw cases 1..5 (share of D steps)");
  for (const std::string method : {std::string("baseline"), std::string(method_name(cfg.weighting))}) {
    double modes = 0, hq = 0, secs = 0;
    int64_t all = 0, n = 0, modes_total = 0;
    std::array<int64_t, 6> cases{};
    for (const auto& r : runs) {
      if (r.method != method) continue;
      ++n;
      modes += double(r.metrics.modes_covered);
      modes_total = r.metrics.modes;
      all += r.metrics.modes_covered == r.metrics.modes;
      hq += r.metrics.high_quality_percent;
      secs += r.seconds;
      for (int c = 0; c < 6; ++c) cases[size_t(c)] += r.cases[size_t(c)];
    }
    if (n == 0) continue;
    std::string hist = "-";
    if (method != "baseline") {
      int64_t total = 0;
      for (int c = 1; c <= 5; ++c) total += cases[size_t(c)];
      hist.clear();
      for (int c = 1; c <= 5; ++c)
        hist += fmt::format("{}{:.1f}%", c > 1 ? " " : "", total ? 100.0 * double(cases[size_t(c)]) / double(total) : 0.0);
    }
    fmt::print("{:<9} {:>8.2f}/{:<2} {:>7}/{:<2} {:>10.1f} {:>8.1f}  {}\n", method, modes / double(n), modes_total,
               all, n, hq / double(n), secs / double(n), hist);
  }
}

int run(int argc, char** argv) {
  examples::Args args("gan_8gaussians",
                      "train a GAN on 8 Gaussians on the unit circle, plain or with the adaptive weighted "
                      "discriminator (thesis section 2.1.5.3, Figure 2.6)");
  args.option("loss", "bce",
              "bce | hinge | wgan | wgan-gp | gn | pgn. bce: D binary cross-entropy, G the non-saturating "
              "loss -log sigmoid(D(G(z))) as in the unrolled-GAN toy; wgan clips D's weights (--clip); "
              "wgan-gp adds the gradient penalty (--gp-lambda); gn and pgn normalise D's output by its input "
              "gradient (GN-GAN, PGN-GAN) and use the bce losses")
      .option("weighting", "none",
              "none (baseline) | aw1 (adaptive weighting, Algorithm 1, normalized) | aw2 (Algorithm 2); aw's "
              "inner optimizer is the baseline's Adam with the same lr and betas")
      .option("grad-split", "auto",
              "how aw gets g_r and g_f: fused (one backward over the 2B rows), reference (two backward "
              "passes) or auto (fused for bce, hinge and wgan; reference for wgan-gp, gn and pgn, whose "
              "double-backward graphs the fused path refuses)")
      .option("steps", "25000", "training steps (one D step and one G step each)")
      .option("batch", "512", "real and fake points per step (each)")
      .option("lr-d", "1e-4", "discriminator Adam learning rate")
      .option("lr-g", "1e-3", "generator Adam learning rate")
      .option("beta1", "0.5", "Adam beta1 (G, D and aw's inner Adam)")
      .option("beta2", "0.999", "Adam beta2 (G, D and aw's inner Adam)")
      .option("clip", "0.01", "wgan: D weights are clipped to [-clip, clip] after each D step")
      .option("gp-lambda", "10", "wgan-gp: weight of the gradient penalty")
      .option("seed", "0", "random seed (initial weights, data, noise); --compare uses seed .. seed+seeds-1")
      .option("device", "cpu", "cpu | cuda | cuda:N")
      .option("threads", "1",
              "CPU threads (OpenMP); 0: all cores. Default 1: the layers are small, and on a 2-core machine 2 "
              "threads made the step slower (and about 10x slower while other processes used the cores)")
      .option("log-every", "1000",
              "print losses every N steps when stderr is not a terminal (a terminal gets a live progress "
              "bar instead); 0: never")
      .option("csv", "", "write a CSV log to this file: method, seed, step, d_loss_real, d_loss_fake, g_loss, "
                         "s_r, s_f, case (0: baseline), w_r, w_f, angle_real_fake, angle_update_real, "
                         "angle_update_fake (degrees, Figure 2.4; the baseline's from g_r and g_f of a second "
                         "forward on the logged step), elapsed (s)")
      .option("csv-every", "100", "steps between CSV rows")
      .option("modes-csv", "", "write D's mean score of 100 real points per mode and the high-quality count "
                               "per mode at every snapshot to this CSV (Figure 2.6 rows 2 and 4)")
      .option("plot-dir", "", "write PNG scatter plots of the --eval-samples generated points over the centres here "
                              "at every snapshot (plus target.png, real samples); the folder must exist")
      .option("plot-every", "5000", "steps between snapshots (Figure 2.6: 5,000); 0: only the final metrics")
      .option("eval-samples", "2500", "generated points for the metrics and plots (VEEGAN: 2,500)")
      .option("hq-std", "3", "a point is high quality within this many std of its nearest centre")
      .option("cover-min", "20", "a mode is covered with at least this many high-quality points")
      .option("compare", "false", "train the baseline and aw (--weighting, default aw1) for --seeds seeds each "
                                  "and print a table; per-step lines and snapshot lines are left out")
      .option("seeds", "10", "--compare: number of seeds");
  if (!args.parse(argc, argv)) return 0;

  Config cfg;
  cfg.loss = loss_spec(args.str("loss"));
  const std::string w = args.str("weighting");
  NOVA_CHECK(w == "none" || w == "aw1" || w == "aw2",
             "gan_8gaussians: --weighting must be none, aw1 or aw2, got \"{}\"", w);
  cfg.weighting = w == "aw1" ? Weighting::aw1 : w == "aw2" ? Weighting::aw2 : Weighting::none;
  cfg.grad_split = args.str("grad-split");
  NOVA_CHECK(cfg.grad_split == "auto" || cfg.grad_split == "fused" || cfg.grad_split == "reference",
             "gan_8gaussians: --grad-split must be auto, fused or reference, got \"{}\"", cfg.grad_split);
  cfg.steps = args.integer("steps");
  cfg.batch = args.integer("batch");
  cfg.lr_d = args.real("lr-d");
  cfg.lr_g = args.real("lr-g");
  cfg.beta1 = args.real("beta1");
  cfg.beta2 = args.real("beta2");
  cfg.clip = args.real("clip");
  cfg.gp_lambda = args.real("gp-lambda");
  cfg.device = Device::parse(args.str("device"));
  cfg.log_every = args.integer("log-every");
  cfg.csv = args.str("csv");
  cfg.csv_every = args.integer("csv-every");
  cfg.modes_csv = args.str("modes-csv");
  cfg.plot_dir = args.str("plot-dir");
  cfg.plot_every = args.integer("plot-every");
  cfg.eval_samples = args.integer("eval-samples");
  cfg.metrics.std_multiple = args.real("hq-std");
  cfg.metrics.min_count = args.integer("cover-min");
  cfg.compare = args.flag("compare");
  const int64_t seeds = args.integer("seeds"), threads = args.integer("threads");
  const uint64_t seed = uint64_t(args.integer("seed"));
  NOVA_CHECK(cfg.steps >= 1 && cfg.batch >= 1 && cfg.eval_samples >= 1 && seeds >= 1,
             "gan_8gaussians: --steps, --batch, --eval-samples and --seeds must be >= 1");
  NOVA_CHECK(cfg.lr_d > 0 && cfg.lr_g > 0, "gan_8gaussians: --lr-d and --lr-g must be > 0");
  NOVA_CHECK(cfg.log_every >= 0 && cfg.csv_every >= 1 && cfg.plot_every >= 0 && threads >= 0,
             "gan_8gaussians: --log-every, --plot-every and --threads must be >= 0, --csv-every >= 1");
  NOVA_CHECK(cfg.metrics.std_multiple > 0 && cfg.metrics.min_count >= 1,
             "gan_8gaussians: --hq-std must be > 0 and --cover-min >= 1");
  if (cfg.compare && cfg.weighting == Weighting::none) cfg.weighting = Weighting::aw1;
  if (cfg.device.is_cuda())
    NOVA_CHECK(cfg.device.index < cuda_device_count(), "gan_8gaussians: --device {}: no such CUDA device ({} found)",
               cfg.device.str(), cuda_device_count());
  if (threads > 0) omp_set_num_threads(int(threads));

  NOVA_CHECK(cfg.plot_dir.empty() || std::filesystem::is_directory(cfg.plot_dir),
             "gan_8gaussians: --plot-dir: {} is not a folder (create it first)", cfg.plot_dir);
  std::unique_ptr<std::ofstream> csv, modes_csv;
  if (!cfg.csv.empty()) {
    csv = std::make_unique<std::ofstream>(cfg.csv);
    NOVA_CHECK(*csv, "gan_8gaussians: --csv: cannot write {}", cfg.csv);
    *csv << "method,seed,step,d_loss_real,d_loss_fake,g_loss,s_r,s_f,case,w_r,w_f,angle_real_fake,"
            "angle_update_real,angle_update_fake,elapsed\n";
  }
  if (!cfg.modes_csv.empty()) {
    modes_csv = std::make_unique<std::ofstream>(cfg.modes_csv);
    NOVA_CHECK(*modes_csv, "gan_8gaussians: --modes-csv: cannot write {}", cfg.modes_csv);
    *modes_csv << "method,seed,step,mode,d_real_mean_score,high_quality\n";
  }

  const bool normalize = cfg.loss.normalize || cfg.loss.penalty_normalize;
  fmt::print("8-Gaussian GAN: ring of 8 modes (radius 1, std 0.01); G and D 2x128 tanh, z 256; loss {}{}; "
             "{} steps, batch {}; Adam lr D {:g} G {:g}, betas ({:g}, {:g}); device {}, threads {}\n",
             cfg.loss.name, normalize ? " (D output gradient-normalised)" : "", cfg.steps, cfg.batch, cfg.lr_d,
             cfg.lr_g, cfg.beta1, cfg.beta2, cfg.device.str(), omp_get_max_threads());
  fmt::print("metrics on {} generated points: high quality = within {:g} std ({:g}) of the nearest centre; a mode "
             "is covered with >= {} high-quality points (unrolled-GAN/VEEGAN convention)\n",
             cfg.eval_samples, cfg.metrics.std_multiple, cfg.metrics.std_multiple * 0.01, cfg.metrics.min_count);
  if (cfg.weighting != Weighting::none)
    fmt::print("aw: Algorithm {} ({}), alpha1 0.5, alpha2 0.75, epsilon 0.05, delta 0.05; inner optimizer = the "
               "baseline's Adam (same lr and betas), so only the weighting differs\n",
               cfg.weighting == Weighting::aw1 ? 1 : 2, cfg.weighting == Weighting::aw1 ? "normalized" : "not normalized");
  std::fflush(stdout);

  Progress progress(::isatty(::fileno(stderr)) != 0);
  if (!cfg.compare) {
    Run r(cfg, cfg.weighting, seed, progress, csv.get(), modes_csv.get(), method_name(cfg.weighting));
    RunResult result = r.train();
    progress.clear();
    print_final(result, cfg);
    return 0;
  }
  std::vector<RunResult> runs;
  for (int64_t i = 0; i < seeds; ++i)
    for (Weighting m : {Weighting::none, cfg.weighting}) {
      const uint64_t s = seed + uint64_t(i);
      const std::string label = fmt::format("seed {} ({}/{}) {}", s, i + 1, seeds, method_name(m));
      Run r(cfg, m, s, progress, csv.get(), modes_csv.get(), label);
      runs.push_back(r.train());
      const auto& last = runs.back();
      say(progress, "{:<28} modes {}/{}, high-quality {:.1f}%, {:.1f}s\n", label, last.metrics.modes_covered,
          last.metrics.modes, last.metrics.high_quality_percent, last.seconds);
    }
  progress.clear();
  print_compare_table(runs, cfg);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
