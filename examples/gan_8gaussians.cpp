// examples/gan_8gaussians.cpp: the 8-Gaussian GAN of thesis section 2.1.5.3
// (Figure 2.6): a GAN learns a mixture of eight 2-D Gaussians on the unit
// circle, with the plain discriminator step (baseline) or the adaptive
// weighted one (aw, Algorithms 1 and 2). Set-up from THESIS-NOTES.md ("The
// 8-Gaussian experiment"): std 0.01, G and D two hidden layers of 128 tanh
// units, z of 256 normals, batch 512, Adam beta1 0.5, D lr 1e-4, G lr 1e-3,
// 25,000 steps.
//
// This file is the command line, the loop and the report; the pieces it
// trains with are the library's:
//   step    models::MixtureGanTraining (models/mixture_gan_training.h): G, D,
//           their optimizers and the data stream, and one call for both steps
//   D step  models::GanDiscriminatorStep (models/gan_discriminator_step.h):
//           one forward over the real and fake rows, the split D loss of
//           --loss (nn::parse_gan_objective), and either a backward and Adam
//           step (baseline) or grad_split + AdaptiveWeighting over the same
//           Adam (aw: same lr and betas, so only the weighting differs)
//   G step  nn::generator_loss of D(G(z)), gradients over G's parameters
//           only (optim::backward_into), Adam step
//   bar     optim::Progress on a terminal, periodic lines otherwise
//   check   optim::FiniteCheck: the losses and both networks' gradients,
//           every step; a NaN or inf stops the run naming the step and the
//           tensor (--on-nonfinite continue: warn once, train on)
//
// Metrics (datasets/mixture_metrics.h, the unrolled-GAN/VEEGAN convention):
// a generated point is high quality within 3 std of its nearest centre; a
// mode is covered with >= 20 high-quality points of 2,500. At each snapshot
// (every 5,000 steps, as in Figure 2.6) the trainer also scores 100 real
// points per mode with D and prints the mean score per mode (Figure 2.6 rows
// 2 and 4).
//
//   gan_8gaussians [--loss bce] [--weighting none|aw1|aw2] [--steps 25000] ...
//   gan_8gaussians --compare --seeds 10 --steps 5000   (baseline vs aw, a table)
//
// Checkpoints (models::TrainCheckpoint): --checkpoint PATH saves G, D, both
// Adams (or aw and its inner Adam), the training generator and the step
// every --checkpoint-every steps and at the end; --resume PATH continues
// from the saved step to --steps, reaching the same weights bit for bit as
// a run that never stopped (CPU, same --threads). One run per file, so
// --compare (2 x --seeds runs) refuses both.
#include <omp.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/ranges.h>

#include "core/autograd.h"
#include "core/ops.h"
#include "datasets/gaussian_mixture.h"
#include "datasets/mixture_metrics.h"
#include "examples/cli.h"
#include "examples/scatter_png.h"
#include "models/gan_discriminator_step.h"
#include "models/gaussian_mixture_gan.h"
#include "models/mixture_gan_training.h"
#include "optim/check_finite.h"
#include "models/train_checkpoint.h"
#include "optim/progress.h"

using namespace nova;

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
  bool compare = false;
  optim::OnNonFinite on_nonfinite = optim::OnNonFinite::stop;
  std::ofstream *csv = nullptr, *modes_csv = nullptr;
  std::string checkpoint, resume;  // --checkpoint, --resume: paths, empty when off
  int64_t checkpoint_every = 0;    // 0: only at the end
};

struct RunResult {
  std::string method;
  uint64_t seed = 0;
  datasets::MixtureMetrics metrics;
  double seconds = 0;
  std::array<int64_t, 6> cases{};  // cases[1..5]: D steps that took each aw case
  std::string grad_split;          // aw: the grad_split path the D steps took, and why
  int64_t nonfinite_steps = 0;     // --on-nonfinite continue: steps with a NaN or inf loss or gradient
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
        .setting("clip", num(cfg.d_step.clip)).setting("gp_lambda", num(cfg.d_step.gp_lambda));
  }

  RunResult train() {
    const auto start = Clock::now();
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
    RunResult r{method_name(weighting_), seed_, datasets::mixture_metrics(mixture_, generate(), cfg_.metrics)};
    r.seconds = seconds_since(start);
    r.nonfinite_steps = finite_.bad_steps();
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
    finite_.value(step, "discriminator loss (real)", log.loss_real);
    finite_.value(step, "discriminator loss (fake)", log.loss_fake);
    finite_.grads(step, d_params_, "D.");
    finite_.value(step, "generator loss", g_loss);
    finite_.grads(step, g_params_, "G.");
  }

  static std::string stats_of(const models::GanDiscriminatorStepLog& l, double g_loss) {
    std::string s = fmt::format("d_real {:.3f} d_fake {:.3f} g {:.3f} s_r {:.2f} s_f {:.2f}", l.loss_real,
                                l.loss_fake, g_loss, l.s_r, l.s_f);
    if (l.case_id > 0) s += fmt::format(" case {} w_r {:.2f} w_f {:.2f}", l.case_id, l.w_r, l.w_f);
    return s;
  }

  void write_csv(int64_t step, const models::GanDiscriminatorStepLog& l, double g_loss, double elapsed) {
    auto num = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6g}", v); };
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

  /// Figure 2.6 at `step`: metrics, the scatter PNG, D's mean score per mode.
  void snapshot(int64_t step) {
    Tensor points = generate();
    auto m = datasets::mixture_metrics(mixture_, points, cfg_.metrics);
    if (!cfg_.plot_dir.empty()) examples::write_scatter_png(plot_path(step), points, mixture_.centres);
    const int64_t modes = mixture_.centres.size(0);
    NoGradGuard no_grad;
    Tensor s = (*d_step().discriminator())(eval_real_).reshape({modes, kRealPerMode});
    std::vector<double> scores = ops::mean(s, {1}).to(kCPU).to(kFloat64).to_vector<double>();
    if (!cfg_.compare)
      progress_.print("snapshot step {:>6}: {}; D(real) mean score per mode: {:+.2f}\n", step, m.summary(),
                      fmt::join(scores, " "));
    for (int64_t k = 0; cfg_.modes_csv && k < modes; ++k)
      *cfg_.modes_csv << fmt::format("{},{},{},{},{:.6g},{}\n", method_name(weighting_), seed_, step, k,
                                     scores[size_t(k)], m.high_quality_per_mode[size_t(k)]);
    if (cfg_.modes_csv) cfg_.modes_csv->flush();
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
};

// ---- reporting ----

std::string case_histogram(const RunResult& r) {
  if (r.method == "baseline") return "-";
  return fmt::format("{}", fmt::join(r.cases.begin() + 1, r.cases.end(), " "));
}

void print_final(const RunResult& r, const Config& cfg) {
  fmt::print("high-quality points per mode: {}\n", fmt::join(r.metrics.high_quality_per_mode, ","));
  if (r.method != "baseline")
    fmt::print("aw cases 1..5 (D steps): {}\naw grad_split: {}\n", case_histogram(r), r.grad_split);
  if (r.nonfinite_steps > 0)
    fmt::print("non-finite losses or gradients on {} of {} steps (--on-nonfinite continue)\n", r.nonfinite_steps,
               cfg.steps);
  fmt::print("final: method={} loss={} seed={} steps={} modes_covered={} modes={} high_quality_pct={:.2f} "
             "seconds={:.2f}\n",
             r.method, cfg.d_step.objective.name, r.seed, cfg.steps, r.metrics.modes_covered, r.metrics.modes,
             r.metrics.high_quality_percent, r.seconds);
}

void print_compare_table(const std::vector<RunResult>& runs, const Config& cfg) {
  fmt::print("\n{:<6} {:<9} {:>7} {:>8} {:>8}  {}\n", "seed", "method", "modes", "hq %", "wall s",
             "aw cases 1..5 (D steps)");
  for (const auto& r : runs)
    fmt::print("{:<6} {:<9} {:>4}/{:<2} {:>8.1f} {:>8.1f}  {}\n", r.seed, r.method, r.metrics.modes_covered,
               r.metrics.modes, r.metrics.high_quality_percent, r.seconds, case_histogram(r));
  fmt::print("\nsummary over {} seeds ({} steps each, loss {}):\n", runs.size() / 2, cfg.steps,
             cfg.d_step.objective.name);
  fmt::print("{:<9} {:>11} {:>10} {:>10} {:>8}  {}\n", "method", "mean modes", "all modes", "mean hq %", "mean s",
             "aw cases 1..5 (share of D steps)");
  for (const std::string method : {std::string("baseline"), std::string(method_name(cfg.weighting))}) {
    double modes = 0, hq = 0, secs = 0;
    int64_t all = 0, n = 0, modes_total = 0, total = 0;
    std::array<int64_t, 6> cases{};
    for (const auto& r : runs) {
      if (r.method != method) continue;
      ++n;
      modes += double(r.metrics.modes_covered);
      modes_total = r.metrics.modes;
      all += r.metrics.modes_covered == r.metrics.modes;
      hq += r.metrics.high_quality_percent;
      secs += r.seconds;
      for (int c = 1; c <= 5; ++c) cases[size_t(c)] += r.cases[size_t(c)], total += r.cases[size_t(c)];
    }
    if (n == 0) continue;
    std::string hist = method == "baseline" ? "-" : "";
    for (int c = 1; c <= 5 && method != "baseline"; ++c)
      hist += fmt::format("{}{:.1f}%", c > 1 ? " " : "", total ? 100.0 * double(cases[size_t(c)]) / double(total) : 0);
    fmt::print("{:<9} {:>8.2f}/{:<2} {:>7}/{:<2} {:>10.1f} {:>8.1f}  {}\n", method, modes / double(n), modes_total,
               all, n, hq / double(n), secs / double(n), hist);
  }
}

int run(int argc, char** argv) {
  Config cfg;
  std::string loss = "bce", weighting = "none", grad_split = "auto", device = "cpu", csv_path, modes_csv_path;
  std::string on_nonfinite = "stop";
  int64_t threads = 1, seeds = 10;
  uint64_t seed = 0;
  using examples::RealRange;
  examples::Cli cli("gan_8gaussians",
                    "train a GAN on 8 Gaussians on the unit circle, plain or with the adaptive weighted "
                    "discriminator (thesis section 2.1.5.3, Figure 2.6)");
  cli.choice("loss", loss, nn::gan_objective_names(),
             "bce: D binary cross-entropy, G the non-saturating loss -log sigmoid(D(G(z))) as in the "
             "unrolled-GAN toy; wgan clips D's weights (--clip); wgan-gp adds the gradient penalty "
             "(--gp-lambda); gn and pgn normalise D's output by its input gradient (GN-GAN, PGN-GAN) and use "
             "the bce losses");
  cli.choice("weighting", weighting, {"none", "aw1", "aw2"},
             "none (baseline) | aw1 (adaptive weighting, Algorithm 1, normalized) | aw2 (Algorithm 2); aw's "
             "inner optimizer is the baseline's Adam with the same lr and betas");
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
              "CPU threads (OpenMP); 0: all cores. Default 1: the layers are small, and on a 2-core machine 2 "
              "threads made the step slower (and about 10x slower while other processes used the cores)");
  cli.integer("log-every", cfg.log_every,
              "print losses every N steps when stderr is not a terminal (a terminal gets a live progress bar "
              "instead); 0: never", 0);
  cli.text("csv", csv_path,
           "write a CSV log to this file: method, seed, step, d_loss_real, d_loss_fake, g_loss, s_r, s_f, case "
           "(0: baseline), w_r, w_f, angle_real_fake, angle_update_real, angle_update_fake (degrees, Figure "
           "2.4; the baseline's from g_r and g_f of a second forward on the logged step), elapsed (s)");
  cli.integer("csv-every", cfg.csv_every, "steps between CSV rows", 1);
  cli.text("modes-csv", modes_csv_path,
           "write D's mean score of 100 real points per mode and the high-quality count per mode at every "
           "snapshot to this CSV (Figure 2.6 rows 2 and 4)");
  cli.text("plot-dir", cfg.plot_dir,
           "write PNG scatter plots of the --eval-samples generated points over the centres here at every "
           "snapshot (plus target.png, real samples); the folder must exist");
  cli.integer("plot-every", cfg.plot_every, "steps between snapshots (Figure 2.6: 5,000); 0: only the final metrics",
              0);
  cli.integer("eval-samples", cfg.eval_samples, "generated points for the metrics and plots (VEEGAN: 2,500)", 1);
  cli.real("hq-std", cfg.metrics.std_multiple, "a point is high quality within this many std of its nearest centre",
           RealRange::positive());
  cli.integer("cover-min", cfg.metrics.min_count, "a mode is covered with at least this many high-quality points",
              1);
  cli.flag("compare", cfg.compare,
           "train the baseline and aw (--weighting, default aw1) for --seeds seeds each and print a table; "
           "per-step lines and snapshot lines are left out");
  cli.integer("seeds", seeds, "--compare: number of seeds", 1);
  cli.choice("on-nonfinite", on_nonfinite, {"stop", "continue"},
             "a NaN or infinite loss or gradient (checked every step): stop ends the run with an error naming the "
             "step and the tensor (status 1); continue warns once, trains on and counts the steps at the end (an "
             "aw step still stops: its weights need finite scores and gradients)");
  cli.text("checkpoint", cfg.checkpoint,
           "save the whole training state (G, D, optimizers, aw, random generator, step) to this safetensors "
           "file every --checkpoint-every steps and at the end");
  cfg.checkpoint_every = 1000;
  cli.integer("checkpoint-every", cfg.checkpoint_every, "steps between checkpoints; 0: only at the end", 0);
  cli.text("resume", cfg.resume,
           "continue from this checkpoint's step to --steps, bit for bit as if never stopped (same options, "
           "CPU, same --threads); --csv is appended to");
  if (std::optional<int> status = cli.parse(argc, argv)) return *status;

  cfg.d_step.objective = nn::parse_gan_objective(loss, "gan_8gaussians: --loss");
  cfg.weighting = weighting == "aw1" ? Weighting::aw1 : weighting == "aw2" ? Weighting::aw2 : Weighting::none;
  using autograd::GradSplitMode;
  cfg.d_step.grad_split = grad_split == "fused"       ? GradSplitMode::fused
                          : grad_split == "reference" ? GradSplitMode::reference
                                                      : GradSplitMode::automatic;
  cfg.device = Device::parse(device);
  cfg.on_nonfinite = on_nonfinite == "stop" ? optim::OnNonFinite::stop : optim::OnNonFinite::warn;
  NOVA_CHECK(!cfg.compare || (cfg.checkpoint.empty() && cfg.resume.empty()),
             "gan_8gaussians: --checkpoint and --resume hold one run; --compare trains 2 x --seeds runs: "
             "checkpoint each method and seed as its own run (--weighting, --seed)");
  if (cfg.compare && cfg.weighting == Weighting::none) cfg.weighting = Weighting::aw1;
  if (cfg.device.is_cuda())
    NOVA_CHECK(cfg.device.index < cuda_device_count(), "gan_8gaussians: --device {}: no such CUDA device ({} found)",
               cfg.device.str(), cuda_device_count());
  if (threads > 0) omp_set_num_threads(int(threads));

  NOVA_CHECK(cfg.plot_dir.empty() || std::filesystem::is_directory(cfg.plot_dir),
             "gan_8gaussians: --plot-dir: {} is not a folder (create it first)", cfg.plot_dir);
  std::ofstream csv, modes_csv;
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
  cfg.modes_csv = open_csv("modes-csv", modes_csv_path, modes_csv, "method,seed,step,mode,d_real_mean_score,high_quality\n");

  fmt::print("8-Gaussian GAN: ring of 8 modes (radius 1, std 0.01); G and D 2x128 tanh, z 256; loss {}{}; "
             "{} steps, batch {}; Adam lr D {:g} G {:g}, betas ({:g}, {:g}); device {}, threads {}\n",
             cfg.d_step.objective.name,
             cfg.d_step.objective.normalizes_output() ? " (D output gradient-normalised)" : "", cfg.steps,
             cfg.batch, cfg.lr_d, cfg.lr_g, cfg.beta1, cfg.beta2, cfg.device.str(), omp_get_max_threads());
  fmt::print("metrics on {} generated points: high quality = within {:g} std ({:g}) of the nearest centre; a mode "
             "is covered with >= {} high-quality points (unrolled-GAN/VEEGAN convention)\n",
             cfg.eval_samples, cfg.metrics.std_multiple, cfg.metrics.std_multiple * 0.01, cfg.metrics.min_count);
  if (cfg.weighting != Weighting::none)
    fmt::print("aw: Algorithm {} ({}), alpha1 0.5, alpha2 0.75, epsilon 0.05, delta 0.05; inner optimizer = the "
               "baseline's Adam (same lr and betas), so only the weighting differs\n",
               cfg.weighting == Weighting::aw1 ? 1 : 2, cfg.weighting == Weighting::aw1 ? "normalized" : "not normalized");
  std::fflush(stdout);

  optim::Progress progress(optim::Progress::on_terminal(), cfg.compare ? 0 : cfg.log_every);
  if (!cfg.compare) {
    RunResult result = Run(cfg, cfg.weighting, seed, progress, method_name(cfg.weighting)).train();
    progress.clear();
    print_final(result, cfg);
    return 0;
  }
  std::vector<RunResult> runs;
  for (int64_t i = 0; i < seeds; ++i)
    for (Weighting m : {Weighting::none, cfg.weighting}) {
      const uint64_t s = seed + uint64_t(i);
      const std::string label = fmt::format("seed {} ({}/{}) {}", s, i + 1, seeds, method_name(m));
      runs.push_back(Run(cfg, m, s, progress, label).train());
      const auto& last = runs.back();
      progress.print("{:<28} modes {}/{}, high-quality {:.1f}%, {:.1f}s\n", label, last.metrics.modes_covered,
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
