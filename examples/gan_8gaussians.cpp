// examples/gan_8gaussians.cpp: the 8-Gaussian GAN of thesis section 2.1.5.3
// (Figure 2.6): a GAN learns a mixture of eight 2-D Gaussians on the unit
// circle, with the plain discriminator step (baseline) or the adaptive
// weighted one (aw, Algorithms 1 and 2). Set-up from THESIS-NOTES.md ("The
// 8-Gaussian experiment"): std 0.01, G and D two hidden layers of 128 tanh
// units, z of 256 normals, batch 512, Adam beta1 0.5, D lr 1e-4, G lr 1e-3,
// 25,000 steps, and "a plain GAN as in" the unrolled-GAN paper: D minimises
// BCE and G maximises that same loss (the minimax generator, --g-loss
// minimax; ns trains G on -log D(G(z)) instead).
//
// This file is the command line, the loop and the runs; the pieces it
// trains with are the library's:
//   step    models::MixtureGanTraining (models/mixture_gan_training.h): G, D,
//           their optimizers and the data stream, and one call for both steps
//   D step  models::GanDiscriminatorStep (models/gan_discriminator_step.h):
//           one forward over the real and fake rows, the split D loss of
//           --loss (nn::parse_gan_objective), and either a backward and Adam
//           step (baseline) or grad_split + AdaptiveWeighting over the same
//           Adam (aw: same lr and betas, so only the weighting differs); aw's
//           inputs s_r, s_f are means of sigmoid of D's raw logit, also for
//           gn and pgn, whose losses see the normalised output (for pgn,
//           whose f_hat rises with 1 - f, of 1 - f: nn::oriented_score)
//   G step  nn::generator_loss of D(G(z)), gradients over G's parameters
//           only (optim::backward_into), Adam step
//   bar     optim::Progress on a terminal, periodic lines otherwise
//   check   optim::FiniteCheck: the losses and both networks' gradients,
//           every step; a NaN or inf stops the run naming the step and the
//           tensor (--on-nonfinite continue: warn once, train on)
//   report  gan_8gaussians_report.h: the final lines and the --compare tables
//
// Metrics (datasets/mixture_metrics.h, the unrolled-GAN/VEEGAN convention):
// a generated point is high quality within 3 std of its nearest centre; a
// mode is covered with >= 20 (and, in a second column, >= 50) high-quality
// points of 2,500. At each snapshot (every 5,000 steps, as in Figure 2.6)
// the trainer also scores 100 real points per mode with D and prints the
// mean raw logit per mode (Figure 2.6 rows 2 and 4; for pgn the mean 1 - f,
// oriented as s_r is, so that high means "real" for every loss).
//
//   gan_8gaussians [--loss bce] [--weighting none|aw1|aw2] [--steps 25000] ...
//   gan_8gaussians --compare --seeds 10        (baseline vs aw, tables)
//   gan_8gaussians --figure 2.6 --figure-out fig.png   (the figure, one seed)
//
// --compare and --figure train their runs in parallel, --jobs at a time
// (default: one per core), each on --threads OpenMP threads (default 1); a
// run's result does not depend on how many run beside it.
//
// Checkpoints (models::TrainCheckpoint): --checkpoint PATH saves G, D, both
// Adams (or aw and its inner Adam), the training generator and the step
// every --checkpoint-every steps and at the end; --resume PATH continues
// from the saved step to --steps, reaching the same weights bit for bit as
// a run that never stopped (CPU, same --threads). One run per file, so
// --compare and --figure (several runs) refuse both.
//
// --graph FILE.dot (one run): before training, the backward graph of one
// step's three losses (D's real and fake parts, G's loss), G's and D's
// parameters named, ops coloured by grad_split's view of them
// (autograd::to_dot), and FILE.png beside it when Graphviz is installed.
// Drawn on a batch of its own: the training's random stream is untouched.
//
// --profile FILE.json (one run): profile::Profiler over the training loop:
// the per-op table (and the scopes "D step" and "G step") printed at the
// end, the events written as Chrome trace-event JSON (Perfetto opens it).
#include <omp.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/ranges.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/profile.h"
#include "datasets/gaussian_mixture.h"
#include "datasets/mixture_metrics.h"
#include "examples/cli.h"
#include "examples/figure_png.h"
#include "examples/gan_8gaussians_report.h"
#include "examples/graph_picture.h"
#include "examples/profile_report.h"
#include "examples/parallel_runs.h"
#include "examples/scatter_png.h"
#include "models/gan_discriminator_step.h"
#include "models/gaussian_mixture_gan.h"
#include "models/mixture_gan_training.h"
#include "nn/normalized_discriminator.h"
#include "optim/check_finite.h"
#include "models/train_checkpoint.h"
#include "optim/progress.h"

using namespace nova;
using examples::MixtureRunResult;
using examples::MixtureSnapshot;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

enum class Weighting { none, aw1, aw2 };

const char* method_name(Weighting w) { return w == Weighting::aw1 ? "aw1" : w == Weighting::aw2 ? "aw2" : "baseline"; }

// The defaults are the command line's (--help prints them from here).
struct Config {
  models::GanDiscriminatorStepOptions d_step;  // objective (--loss), clip, gp_lambda, grad_split
  Weighting weighting = Weighting::none;
  int64_t steps = 25000, batch = 512, eval_samples = 2500, log_every = 1000, csv_every = 100, plot_every = 5000;
  double lr_d = 1e-4, lr_g = 1e-3, beta1 = 0.5, beta2 = 0.999;
  Device device = kCPU;
  std::string plot_dir;
  datasets::MixtureMetricsOptions metrics;
  int64_t cover_high = 50;  // --cover-min-high: the second coverage column
  double aw_norm_guard = optim::AdaptiveWeightingOptions{}.norm_guard;
  bool compare = false;
  bool keep_points = false;  // --figure: each snapshot keeps its generated points
  std::string objective_text;  // "bce (G minimax)": what the reports name
  std::string real_score = "logit";  // the per-mode scores: D's raw logit, or 1 - f for pgn
  optim::OnNonFinite on_nonfinite = optim::OnNonFinite::stop;
  std::ofstream *csv = nullptr, *modes_csv = nullptr;
  std::mutex* io = nullptr;  // the CSV files, shared by runs in parallel
  std::string checkpoint, resume;  // --checkpoint, --resume: paths, empty when off
  int64_t checkpoint_every = 0;    // 0: only at the end
  std::string graph;               // --graph: the DOT file, empty when off
  std::string profile;             // --profile: the Chrome trace file, empty when off
};

class Run {
 public:
  Run(const Config& cfg, Weighting weighting, uint64_t seed, optim::Progress& progress, const std::string& label)
      : cfg_(cfg), weighting_(weighting), seed_(seed), progress_(progress), label_(label),
        training_(training_options(cfg, weighting), seed), G_(training_.generator()),
        D_(training_.discriminator()), eval_gen_(seed ^ 0x9E3779B97F4A7C15ULL),
        finite_(cfg.on_nonfinite, [this](const std::string& message) {
          progress_.clear();
          fmt::print(stderr, "warning: {} ({}; --on-nonfinite continue: training on, the count is at the end)\n",
                     message, label_);
        }) {
    g_params_ = G_->named_parameters();
    d_params_ = D_->named_parameters();
    // fixed evaluation inputs: every snapshot looks at the same z and real points
    eval_z_ = randn({cfg.eval_samples, training_.options().net.z_dim}, kFloat32, cfg.device, &eval_gen_);
    std::vector<Tensor> per_mode;
    for (int64_t k = 0; k < mixture_.centres.size(0); ++k)
      per_mode.push_back(mixture_.centres.narrow(0, k, 1) +
                         normal({kRealPerMode, 2}, 0.0, mixture_.std, kFloat32, kCPU, &eval_gen_));
    eval_real_ = ops::cat(per_mode, 0).to(cfg.device);
    // What changes from step to step. The training's data generator
    // (training_.data_generator()) is the trainer's only random
    // source after this constructor (real points, z, the gradient penalty's
    // points); init and eval_gen_ draw only above, the same for the same
    // --seed, and so does the default generator (Linear's default init,
    // which init's draws then replace). That one is saved anyway: it is
    // global, and a layer that drew from it while training would break
    // resume silently.
    ckpt_.add("G", *G_).add("D", *D_).add("opt_g", training_.generator_optimizer());
    ckpt_.add("gen", training_.data_generator()).add("default_gen", default_generator());
    if (optim::AdaptiveWeighting* aw = d_step().adaptive_weighting()) ckpt_.add("aw_d", *aw);
    else ckpt_.add("opt_d", *d_step().optimizer());
    // what a resume must not change: all that shapes the steps and the data
    // (fused and reference grad_split round differently)
    using autograd::GradSplitMode;
    const GradSplitMode split = cfg.d_step.grad_split;
    auto num = [](double v) { return fmt::format("{}", v); };  // shortest exact form
    const char* split_name = split == GradSplitMode::fused       ? "fused"
                             : split == GradSplitMode::reference ? "reference"
                                                                 : "auto";
    ckpt_.setting("method", method_name(weighting_)).setting("seed", std::to_string(seed_))
        .setting("loss", cfg.d_step.objective.name).setting("batch", std::to_string(cfg.batch))
        .setting("grad_split", split_name)
        .setting("lr_d", num(cfg.lr_d)).setting("lr_g", num(cfg.lr_g))
        .setting("beta1", num(cfg.beta1)).setting("beta2", num(cfg.beta2))
        .setting("clip", num(cfg.d_step.clip)).setting("gp_lambda", num(cfg.d_step.gp_lambda))
        .setting("g_loss", nn::to_string(cfg.d_step.objective.g_loss))
        .setting("pgn_denominator",
                 cfg.d_step.objective.pgn_denominator == nn::PgnDenominator::gradient ? "gradient"
                                                                                       : "ones-minus-gradient")
        .setting("aw_norm_guard", num(cfg.aw_norm_guard));
  }

  /// --graph: one step's losses as the step builds them (the D loss in its
  /// real and fake parts on D(cat(real, G(z))) with G under no-grad, the G
  /// loss on D(G(z'))), on points from a generator of its own; returns the
  /// line to print.
  std::string write_graph(const std::string& path) {
    Generator gen(seed_ ^ 0x5DEECE66DULL);
    const int64_t n = cfg_.batch, z_dim = training_.options().net.z_dim;
    const std::shared_ptr<nn::Module>& scores = d_step().discriminator();
    Tensor real = mixture_.sample(n, gen).to(cfg_.device), fake;
    {
      NoGradGuard no_grad;
      fake = (*G_)(randn({n, z_dim}, kFloat32, cfg_.device, &gen));
    }
    const Tensor out = (*scores)(ops::cat({real, fake}, 0));
    const nn::DiscriminatorLoss d_loss =
        nn::discriminator_loss(cfg_.d_step.objective.d_loss, out.narrow(0, 0, n), out.narrow(0, n, n));
    const Tensor z = randn({n, z_dim}, kFloat32, cfg_.device, &gen);
    const Tensor g_loss = nn::generator_loss(cfg_.d_step.objective.g_loss, (*scores)((*G_)(z)));
    return examples::write_gan_step_graph(
        path, d_loss.real, d_loss.fake, g_loss, g_params_, d_params_, weighting_ != Weighting::none,
        fmt::format("gan_8gaussians, one step: {} {}, batch {}", method_name(weighting_), cfg_.objective_text, n));
  }

  MixtureRunResult train() {
    const auto start = Clock::now();
    if (!cfg_.graph.empty()) progress_.print("{}\n", write_graph(cfg_.graph));
    if (!cfg_.plot_dir.empty()) {
      Generator g(seed_);
      examples::write_scatter_png(plot_path(0), mixture_.sample(cfg_.eval_samples, g), mixture_.centres);
    }
    int64_t first = 1;
    if (!cfg_.resume.empty()) {
      first = ckpt_.load(cfg_.resume) + 1;
      NOVA_CHECK(first - 1 <= cfg_.steps, "gan_8gaussians: --resume {}: saved after step {}, beyond --steps {}",
                 cfg_.resume, first - 1, cfg_.steps);
      progress_.print("resumed from {} after step {}\n", cfg_.resume, first - 1);
    }
    std::unique_ptr<profile::Profiler> profiler;
    if (!cfg_.profile.empty()) profiler = std::make_unique<profile::Profiler>(examples::kProfileEvents);
    for (int64_t step = first; step <= cfg_.steps; ++step) {
      const bool last = step == cfg_.steps;
      const bool logged = cfg_.csv && (step % cfg_.csv_every == 0 || last);
      // D step on fresh real points and G's points, then G step
      models::MixtureGanStepLog both;
      try {
        both = training_.step(/*measure_angles=*/logged);
      } catch (const Error& e) {
        fail("step {}: {}", step, e.what());  // e.g. aw refusing a NaN score: say when
      }
      const models::GanDiscriminatorStepLog& log = both.d;
      const double g_loss = both.g_loss;
      check_finite(step, log, g_loss);
      const double elapsed = seconds_since(start);
      const std::string stats = stats_of(log, g_loss);
      if (logged) write_csv(step, log, g_loss, elapsed);
      progress_.update(label_, step, cfg_.steps, stats, elapsed);  // the bar, or a line every --log-every
      if (cfg_.plot_every > 0 && (step % cfg_.plot_every == 0 || last)) snapshot(step);
      if (!cfg_.checkpoint.empty() && (last || (cfg_.checkpoint_every > 0 && step % cfg_.checkpoint_every == 0)))
        ckpt_.save(cfg_.checkpoint, step);
    }
    if (profiler) {
      const std::string report = examples::finish_profile(*profiler, cfg_.profile);
      progress_.clear();
      fmt::print("{}", report);
    }
    MixtureRunResult r;
    r.method = method_name(weighting_);
    r.seed = seed_;
    r.metrics = datasets::mixture_metrics(mixture_, generate(), cfg_.metrics);
    r.seconds = seconds_since(start);
    r.nonfinite_steps = finite_.bad_steps();
    r.snapshots = std::move(snapshots_);
    if (const optim::AdaptiveWeighting* aw = d_step().adaptive_weighting()) {
      r.cases = aw->case_counts();
      r.grad_split = d_step().grad_split_path() == autograd::GradSplitMode::fused ? "fused" : "reference";
      const std::string& why = d_step().grad_split_reason();
      if (!why.empty()) r.grad_split += " (fused refused: " + why + ")";
    }
    return r;
  }

 private:
  static constexpr int64_t kRealPerMode = 100;  // Figure 2.6: 100 real points per mode

  static models::MixtureGanTrainingOptions training_options(const Config& cfg, Weighting weighting) {
    models::MixtureGanTrainingOptions o;
    o.d_step = cfg.d_step;
    o.aw_algorithm = weighting == Weighting::aw1 ? 1 : weighting == Weighting::aw2 ? 2 : 0;
    o.aw.norm_guard = cfg.aw_norm_guard;
    o.batch = cfg.batch;
    o.lr_d = cfg.lr_d;
    o.lr_g = cfg.lr_g;
    o.beta1 = cfg.beta1;
    o.beta2 = cfg.beta2;
    o.device = cfg.device;
    return o;
  }

  models::GanDiscriminatorStep& d_step() { return training_.discriminator_step(); }

  /// --on-nonfinite: the losses just read for the log, and the gradients
  /// both optimizers just stepped with (D's survive the G step, which
  /// backpropagates into G's parameters only).
  void check_finite(int64_t step, const models::GanDiscriminatorStepLog& log, double g_loss) {
    models::check_gan_step_finite(finite_, step, log, g_loss, d_params_, g_params_);
  }

  static std::string stats_of(const models::GanDiscriminatorStepLog& l, double g_loss) {
    return models::describe_gan_step(l, g_loss);
  }

  void write_csv(int64_t step, const models::GanDiscriminatorStepLog& l, double g_loss, double elapsed) {
    auto num = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6g}", v); };
    std::lock_guard<std::mutex> lock(*cfg_.io);
    *cfg_.csv << fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3f}\n", method_name(weighting_), seed_,
                             step, num(l.loss_real), num(l.loss_fake), num(g_loss), num(l.s_r), num(l.s_f),
                             l.case_id, num(l.w_r), num(l.w_f), num(l.angle_real_fake), num(l.angle_update_real),
                             num(l.angle_update_fake), elapsed);
    cfg_.csv->flush();  // a long run's log can be followed while it trains
  }

  /// step 0: the target (real samples).
  std::string plot_path(int64_t step) const {
    if (step == 0) return fmt::format("{}/target.png", cfg_.plot_dir);
    return fmt::format("{}/{}_seed{}_step{:06d}.png", cfg_.plot_dir, method_name(weighting_), seed_, step);
  }

  /// Generated points of the fixed evaluation z.
  Tensor generate() {
    NoGradGuard no_grad;
    return (*G_)(eval_z_);
  }

  /// Figure 2.6 at `step`: metrics, the scatter PNG, D's mean raw logit per
  /// mode (pgn: 1 - f), and aw's cases since the previous snapshot.
  void snapshot(int64_t step) {
    MixtureSnapshot snap;
    snap.step = step;
    Tensor points = generate();
    snap.metrics = datasets::mixture_metrics(mixture_, points, cfg_.metrics);
    if (!cfg_.plot_dir.empty()) examples::write_scatter_png(plot_path(step), points, mixture_.centres);
    if (cfg_.keep_points) snap.points = points.to(kCPU);
    const int64_t modes = mixture_.centres.size(0);
    {
      // the critic's own output (D_ is the critic, not its gn/pgn wrapper),
      // oriented as f_hat and s_r are (nn::oriented_score: the logit, 1 - f
      // for pgn): Figure 2.6 plots raw scores, higher = more real, and a
      // normalised f_hat would sit in [-1, 1]
      NoGradGuard no_grad;
      Tensor s = nn::oriented_score(cfg_.d_step.objective.regularizer, (*D_)(eval_real_))
                     .reshape({modes, kRealPerMode});
      snap.real_logits = ops::mean(s, {1}).to(kCPU).to(kFloat64).to_vector<double>();
    }
    if (const optim::AdaptiveWeighting* aw = d_step().adaptive_weighting()) {
      const std::array<int64_t, 6> now = aw->case_counts();
      for (size_t c = 1; c <= 5; ++c) snap.cases[c] = now[c] - cases_before_[c];
      cases_before_ = now;
    }
    const auto& m = snap.metrics;
    if (!cfg_.compare && !cfg_.keep_points)
      progress_.print("snapshot step {:>6}: {}; D(real) mean {} per mode: {:+.2f}\n", step, m.summary(),
                      cfg_.real_score, fmt::join(snap.real_logits, " "));
    if (cfg_.modes_csv) {
      std::lock_guard<std::mutex> lock(*cfg_.io);
      for (int64_t k = 0; k < modes; ++k)
        *cfg_.modes_csv << fmt::format("{},{},{},{},{:.6g},{}\n", method_name(weighting_), seed_, step, k,
                                       snap.real_logits[size_t(k)], m.high_quality_per_mode[size_t(k)]);
      cfg_.modes_csv->flush();
    }
    snapshots_.push_back(std::move(snap));
  }

  const Config& cfg_;
  Weighting weighting_;
  uint64_t seed_;
  optim::Progress& progress_;
  std::string label_;
  models::MixtureGanTraining training_;  // G, D, their optimizers, the data stream, the step
  std::shared_ptr<nn::Sequential> G_, D_;
  Generator eval_gen_;
  const datasets::GaussianMixture& mixture_ = training_.mixture();
  optim::NamedParameters g_params_, d_params_;  // named for the non-finite messages
  optim::FiniteCheck finite_;
  Tensor eval_z_, eval_real_;
  models::TrainCheckpoint ckpt_;  // refers to the members above: a Run is never moved
  std::vector<MixtureSnapshot> snapshots_;
  std::array<int64_t, 6> cases_before_{};  // aw's case counts at the previous snapshot
};

/// Trains `runs` (method, seed) pairs, `jobs` at a time, each on `threads`
/// OpenMP threads, and returns their results in the order given. A line is
/// printed as each run ends. The first error in any run is rethrown here
/// after the others stop taking new runs.
std::vector<MixtureRunResult> train_in_parallel(const Config& cfg, const std::vector<std::pair<Weighting, uint64_t>>& runs,
                                                int64_t jobs, int64_t threads) {
  optim::Progress lines(false);  // prints result lines; no bar (runs overlap)
  auto label = [&](size_t i) { return fmt::format("seed {} {}", runs[i].second, method_name(runs[i].first)); };
  return examples::run_in_parallel<MixtureRunResult>(
      runs.size(), jobs, threads,
      [&](size_t i) {
        optim::Progress quiet(false);  // one run's own bar and lines: off
        return Run(cfg, runs[i].first, runs[i].second, quiet, label(i)).train();
      },
      [&](size_t i, const MixtureRunResult& r) {
        lines.print("{:<22} modes {}/{} (>= {}), high-quality {:.1f}%, {:.1f}s  [{} of {} runs]\n", label(i),
                    r.metrics.modes_covered, r.metrics.modes, cfg.metrics.min_count, r.metrics.high_quality_percent,
                    r.seconds, i + 1, runs.size());
      },
      label);
}

/// --figure 2.6: baseline and aw on one seed, one PNG with a column per snapshot.
void write_figure(const Config& cfg, const std::vector<MixtureRunResult>& runs, const std::string& path,
                  const datasets::GaussianMixture& mixture) {
  std::vector<examples::FigureRow> rows;
  for (const MixtureRunResult& r : runs) {
    examples::FigureRow row;
    row.label = r.method;
    for (const MixtureSnapshot& s : r.snapshots)
      row.snapshots.push_back({s.step, s.points, s.real_logits,
                               fmt::format("{}/{} modes, hq {:.0f}%", s.metrics.modes_covered, s.metrics.modes,
                                           s.metrics.high_quality_percent)});
    rows.push_back(std::move(row));
  }
  examples::FigureOptions options;
  options.title = fmt::format("8 Gaussians, seed {}, {}, D lr {:g}, G lr {:g}; bars: D's mean {} on 100 real "
                              "points of each mode",
                              runs.front().seed, cfg.objective_text, cfg.lr_d, cfg.lr_g, cfg.real_score);
  examples::write_figure_png(path, rows, mixture.centres, options);
}

int run(int argc, char** argv) {
  Config cfg;
  std::string loss = "bce", g_loss = "default", pgn_denominator = "ones-minus-gradient", weighting = "none";
  std::string grad_split = "auto", device = "cpu", csv_path, modes_csv_path, on_nonfinite = "stop";
  std::string figure, figure_out = "figure_2_6.png";
  int64_t threads = 1, seeds = 10, jobs = 0;
  uint64_t seed = 0;
  using examples::RealRange;
  examples::Cli cli("gan_8gaussians",
                    "train a GAN on 8 Gaussians on the unit circle, plain or with the adaptive weighted "
                    "discriminator (thesis section 2.1.5.3, Figure 2.6)");
  cli.choice("loss", loss, nn::gan_objective_names(),
             "bce: D binary cross-entropy on its logit, G the minimax loss (it maximises D's loss, as the "
             "unrolled-GAN code the thesis follows; --g-loss ns for -log sigmoid(D(G(z)))); wgan clips D's "
             "weights (--clip); wgan-gp adds the gradient penalty (--gp-lambda); gn and pgn normalise D's "
             "output by its input gradient (GN-GAN, PGN-GAN) and use the bce losses on it");
  cli.choice("g-loss", g_loss, {"default", "minimax", "ns"},
             "generator loss: minimax (G maximises D's own loss; bce, gn and pgn default to it) or ns (the "
             "non-saturating -log sigmoid(D(G(z))); bce, gn, pgn only); default: the objective's own (hinge: "
             "-mean D(G(z)); wgan, wgan-gp: -mean D(G(z)), which is their minimax loss)");
  cli.choice("pgn-denominator", pgn_denominator, {"ones-minus-gradient", "gradient"},
             "pgn: ||1 - grad_x D(x)|| + |1 - D(x)| with 1 a vector of ones (PGN paper Algorithm 1 and Table I, "
             "and the authors' code, EDGAN-PyTorch models/pgradnorm.py; about sqrt(2) + |1 - D| here while the "
             "gradient is small) or ||grad_x (1 - D(x))|| + |1 - D(x)| (the paper's gradient derivation, eqs. "
             "10-14)");
  cli.choice("weighting", weighting, {"none", "aw1", "aw2"},
             "none (baseline) | aw1 (adaptive weighting, Algorithm 1, normalized) | aw2 (Algorithm 2); aw's "
             "inner optimizer is the baseline's Adam with the same lr and betas; s_r and s_f are means of "
             "sigmoid of D's raw logit (also for gn; for pgn, whose normalised output rises with 1 - D(x), of "
             "1 - D(x))");
  cli.real("aw-norm-guard", cfg.aw_norm_guard,
           "aw: added to each squared gradient norm before the square root, as the authors' code (finite "
           "weights at a zero gradient); it changes the weights little where gradient norms are >= 1 but "
           "halves a 1/|g| at |g| = 1e-2 and all but removes it below 1e-3; 0: the exact formulas",
           RealRange::non_negative());
  cli.choice("grad-split", grad_split, {"auto", "fused", "reference"},
             "how aw gets g_r and g_f: fused (one backward over the 2B rows), reference (two backward "
             "passes) or auto (fused where the graph allows, reference otherwise: gn and pgn, whose "
             "double-backward graphs the fused path refuses; the final report says which ran)");
  cli.integer("steps", cfg.steps, "training steps (one D step and one G step each)", 1);
  cli.integer("batch", cfg.batch, "real and fake points per step (each)", 1);
  cli.real("lr-d", cfg.lr_d, "discriminator Adam learning rate", RealRange::positive());
  cli.real("lr-g", cfg.lr_g, "generator Adam learning rate", RealRange::positive());
  cli.real("beta1", cfg.beta1, "Adam beta1 (G, D and aw's inner Adam)", RealRange::unit_open_top());
  cli.real("beta2", cfg.beta2, "Adam beta2 (G, D and aw's inner Adam)", RealRange::unit_open_top());
  cli.real("clip", cfg.d_step.clip, "wgan: D weights are clipped to [-clip, clip] after each D step",
           RealRange::non_negative());
  cli.real("gp-lambda", cfg.d_step.gp_lambda, "wgan-gp: weight of the gradient penalty", RealRange::non_negative());
  cli.integer("seed", seed, "random seed (initial weights, data, noise); --compare uses seed .. seed+seeds-1");
  cli.text("device", device, "cpu | cuda | cuda:N", [](const std::string& text) { Device::parse(text); });
  cli.threads("threads", threads,
              "CPU threads (OpenMP) per run; 0: all cores. Default 1, so that --compare and --figure, which "
              "train --jobs runs at once (one per core), do not oversubscribe the cores; one run alone is "
              "faster on 2: bench_gan_step's step took 2.18 ms at 1 thread and 1.85 ms at 2 on a 2-core EPYC "
              "(bench/RESULTS.md, \"CPU, 2026-12-07\", \"The same day, later\")");
  cli.integer("jobs", jobs,
              "--compare, --figure: runs trained at once, each on --threads threads; 0: one per core", 0);
  cli.integer("log-every", cfg.log_every,
              "print losses every N steps when stderr is not a terminal (a terminal gets a live progress bar "
              "instead); 0: never", 0);
  cli.text("csv", csv_path,
           "write a CSV log to this file: method, seed, step, d_loss_real, d_loss_fake, g_loss, s_r, s_f, case "
           "(0: baseline), w_r, w_f, angle_real_fake, angle_update_real, angle_update_fake (degrees, Figure "
           "2.4; the baseline's from g_r and g_f of a second forward on the logged step), elapsed (s); runs "
           "in parallel interleave their rows");
  cli.integer("csv-every", cfg.csv_every, "steps between CSV rows", 1);
  cli.text("modes-csv", modes_csv_path,
           "write D's mean raw logit (pgn: 1 - D(x)) on 100 real points per mode and the high-quality count per "
           "mode at every snapshot to this CSV (Figure 2.6 rows 2 and 4)");
  cli.text("plot-dir", cfg.plot_dir,
           "write PNG scatter plots of the --eval-samples generated points over the centres here at every "
           "snapshot (plus target.png, real samples); the folder must exist");
  cli.integer("plot-every", cfg.plot_every,
              "steps between snapshots (Figure 2.6: 5,000; also the windows of --compare's case table); 0: only "
              "the final metrics", 0);
  cli.integer("eval-samples", cfg.eval_samples, "generated points for the metrics and plots (VEEGAN: 2,500)", 1);
  cli.real("hq-std", cfg.metrics.std_multiple, "a point is high quality within this many std of its nearest centre",
           RealRange::positive());
  cli.integer("cover-min", cfg.metrics.min_count, "a mode is covered with at least this many high-quality points",
              1);
  cli.integer("cover-min-high", cfg.cover_high,
              "a second, stricter coverage count for the reports (modes with at least this many)", 1);
  cli.flag("compare", cfg.compare,
           "train the baseline and aw (--weighting, default aw1) for --seeds seeds each, --jobs at a time, and "
           "print the tables; per-step lines and snapshot lines are left out");
  cli.integer("seeds", seeds, "--compare: number of seeds", 1);
  cli.text("figure", figure,
           "2.6: train the baseline and aw (--weighting, default aw1) on --seed and write Figure 2.6 as one PNG "
           "(--figure-out): a column per snapshot, samples and D's mean raw logit (pgn: 1 - D(x)) per mode",
           [](const std::string& text) {
             NOVA_CHECK(text == "2.6", "the one figure this trainer draws is 2.6, got \"{}\"", text);
           });
  cli.text("figure-out", figure_out, "--figure: the PNG to write");
  cli.choice("on-nonfinite", on_nonfinite, {"stop", "continue"},
             "a NaN or infinite loss or gradient (checked every step): stop ends the run with an error naming the "
             "step and the tensor (status 1); continue warns once, trains on and counts the steps at the end (an "
             "aw step still stops: its weights need finite scores and gradients)");
  cli.text("checkpoint", cfg.checkpoint,
           "save the whole training state (G, D, optimizers, aw, random generator, step) to this safetensors "
           "file every --checkpoint-every steps and at the end");
  cfg.checkpoint_every = 1000;
  cli.text("graph", cfg.graph, std::string(examples::kGanGraphOptionHelp) + "; one run only");
  cli.text("profile", cfg.profile, examples::profile_option_help("'D step' and 'G step'") + "; one run only");
  cli.integer("checkpoint-every", cfg.checkpoint_every, "steps between checkpoints; 0: only at the end", 0);
  cli.text("resume", cfg.resume,
           "continue from this checkpoint's step to --steps, bit for bit as if never stopped (same options, "
           "CPU, same --threads); --csv is appended to");
  if (std::optional<int> status = cli.parse(argc, argv)) return *status;

  cfg.d_step.objective = nn::parse_gan_objective(loss, "gan_8gaussians: --loss");
  if (g_loss != "default") cfg.d_step.objective = nn::with_generator_loss(cfg.d_step.objective, g_loss, "gan_8gaussians: --g-loss");
  cfg.d_step.objective.pgn_denominator = nn::parse_pgn_denominator(pgn_denominator, "gan_8gaussians: --pgn-denominator");
  const nn::GanLoss g_kind = cfg.d_step.objective.g_loss;
  const std::string g_name = g_kind == nn::GanLoss::non_saturating ? "ns" : nn::to_string(g_kind);
  cfg.objective_text = fmt::format("{} (G {})", loss, g_name);
  if (loss == "pgn") cfg.objective_text += fmt::format(", denominator {}", pgn_denominator);
  if (loss == "pgn") cfg.real_score = "1 - f";  // pgn's f_hat rises with 1 - f (nn::oriented_score)
  cfg.weighting = weighting == "aw1" ? Weighting::aw1 : weighting == "aw2" ? Weighting::aw2 : Weighting::none;
  using autograd::GradSplitMode;
  cfg.d_step.grad_split = grad_split == "fused"       ? GradSplitMode::fused
                          : grad_split == "reference" ? GradSplitMode::reference
                                                      : GradSplitMode::automatic;
  cfg.device = Device::parse(device);
  cfg.on_nonfinite = on_nonfinite == "stop" ? optim::OnNonFinite::stop : optim::OnNonFinite::warn;
  const bool several = cfg.compare || !figure.empty();
  NOVA_CHECK(!(cfg.compare && !figure.empty()), "gan_8gaussians: --compare and --figure are two modes; pick one");
  NOVA_CHECK(!several || (cfg.checkpoint.empty() && cfg.resume.empty()),
             "gan_8gaussians: --checkpoint and --resume hold one run; --compare trains 2 x --seeds runs "
             "(--figure two): checkpoint each method and seed as its own run (--weighting, --seed)");
  NOVA_CHECK(!several || cfg.graph.empty(), "gan_8gaussians: --graph draws one run's step; it does not go with "
             "--compare or --figure");
  NOVA_CHECK(!several || cfg.profile.empty(), "gan_8gaussians: --profile times one run; it does not go with "
             "--compare or --figure");
  if (several && cfg.weighting == Weighting::none) cfg.weighting = Weighting::aw1;
  cfg.keep_points = !figure.empty();
  NOVA_CHECK(figure.empty() || cfg.plot_every > 0, "gan_8gaussians: --figure needs snapshots (--plot-every > 0)");
  if (cfg.device.is_cuda())
    NOVA_CHECK(cfg.device.index < cuda_device_count(), "gan_8gaussians: --device {}: no such CUDA device ({} found)",
               cfg.device.str(), cuda_device_count());
  if (threads > 0) omp_set_num_threads(int(threads));
  if (jobs == 0) jobs = std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));

  NOVA_CHECK(cfg.plot_dir.empty() || std::filesystem::is_directory(cfg.plot_dir),
             "gan_8gaussians: --plot-dir: {} is not a folder (create it first)", cfg.plot_dir);
  std::ofstream csv, modes_csv;
  std::mutex io;
  cfg.io = &io;
  auto open_csv = [&](const char* option, const std::string& path, std::ofstream& file,
                      const char* header) -> std::ofstream* {
    if (path.empty()) return nullptr;
    // a resumed run adds its rows to the log it continues
    std::error_code no_file;
    const bool append = !cfg.resume.empty() && std::filesystem::file_size(path, no_file) > 0 && !no_file;
    file.open(path, append ? std::ios::app : std::ios::trunc);
    NOVA_CHECK(file, "gan_8gaussians: --{}: cannot write {}", option, path);
    if (!append) file << header;
    return &file;
  };
  cfg.csv = open_csv("csv", csv_path, csv, "method,seed,step,d_loss_real,d_loss_fake,g_loss,s_r,s_f,case,w_r,w_f,"
                                 "angle_real_fake,angle_update_real,angle_update_fake,elapsed\n");
  cfg.modes_csv = open_csv("modes-csv", modes_csv_path, modes_csv, "method,seed,step,mode,d_real_mean_logit,high_quality\n");

  fmt::print("8-Gaussian GAN: ring of 8 modes (radius 1, std 0.01); G and D 2x128 tanh, z 256; loss {}{}; "
             "{} steps, batch {}; Adam lr D {:g} G {:g}, betas ({:g}, {:g}); device {}, threads {}\n",
             cfg.objective_text, cfg.d_step.objective.normalizes_output() ? " (D output gradient-normalised)" : "",
             cfg.steps, cfg.batch, cfg.lr_d, cfg.lr_g, cfg.beta1, cfg.beta2, cfg.device.str(), omp_get_max_threads());
  fmt::print("metrics on {} generated points: high quality = within {:g} std ({:g}) of the nearest centre; a mode "
             "is covered with >= {} high-quality points (unrolled-GAN/VEEGAN convention)\n",
             cfg.eval_samples, cfg.metrics.std_multiple, cfg.metrics.std_multiple * 0.01, cfg.metrics.min_count);
  if (cfg.weighting != Weighting::none)
    fmt::print("aw: Algorithm {} ({}), alpha1 0.5, alpha2 0.75, epsilon 0.05, delta 0.05, norm guard {:g}; inner "
               "optimizer = the baseline's Adam (same lr and betas), so only the weighting differs\n",
               cfg.weighting == Weighting::aw1 ? 1 : 2, cfg.weighting == Weighting::aw1 ? "normalized" : "not normalized",
               cfg.aw_norm_guard);
  std::fflush(stdout);

  examples::MixtureReportSetup setup;
  setup.steps = cfg.steps;
  setup.objective = cfg.objective_text;
  setup.real_score = cfg.real_score;
  setup.loss = loss;
  setup.g_loss = g_name;
  setup.cover_low = cfg.metrics.min_count;
  setup.cover_high = cfg.cover_high;
  setup.aw_method = method_name(cfg.weighting);
  if (!several) {
    optim::Progress progress(optim::Progress::on_terminal(), cfg.log_every);
    MixtureRunResult result = Run(cfg, cfg.weighting, seed, progress, method_name(cfg.weighting)).train();
    progress.clear();
    examples::print_run_result(result, setup);
    return 0;
  }
  std::vector<std::pair<Weighting, uint64_t>> runs;
  for (int64_t i = 0; i < (cfg.compare ? seeds : 1); ++i)
    for (Weighting m : {Weighting::none, cfg.weighting}) runs.emplace_back(m, seed + uint64_t(i));
  fmt::print("{} runs, {} at a time, {} thread(s) each\n", runs.size(), std::min<int64_t>(jobs, int64_t(runs.size())),
             threads);
  std::fflush(stdout);
  std::vector<MixtureRunResult> results = train_in_parallel(cfg, runs, jobs, threads);
  if (cfg.compare) {
    examples::print_compare_report(results, setup);
  } else {
    for (const auto& r : results) examples::print_run_result(r, setup);
    write_figure(cfg, results, figure_out, datasets::ring_of_gaussians());
    fmt::print("wrote {}\n", figure_out);
  }
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
