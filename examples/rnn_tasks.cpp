// examples/rnn_tasks.cpp: the recurrent-net experiments of thesis section
// 3.1.4: LSTM, GRU, scoRNN, GORU and NC-GRU on the parenthesis, denoise,
// adding and copying tasks (datasets/rnn_tasks.h), with the Neumann-Cayley
// optimizer (optim/cayley.h, Algorithm 4) for the orthogonal weights.
//
//   rnn_tasks --task parenthesis --model ncgru-uc --T 100 --steps 2000
//   rnn_tasks --compare --seeds 3 --steps 2000 --plot fig32.png   (Table 3.1)
//   rnn_tasks --study neumann --seeds 3 --plot fig34.png            (Figs 3.4-3.5)
//
// Training, as the thesis (3.1.4.1-2): one layer, the parameter-matched
// hidden sizes and -1 counts of examples/rnn_task_net.h, a fresh batch from
// the task's generator every step, Adam lr 1e-3 on every ordinary weight and
// (inside the CayleyOptimizer) on the skew A's, Neumann order 2 with an exact
// reset every 50 steps. The thesis counts parenthesis training in epochs of
// a size it does not give (THESIS-NOTES.md: 20,000 steps in the authors'
// code); here it is --steps.
//
// What is reported, per run: the minimum batch loss over training (the
// thesis's Tables 3.1 and 3.2 report the "minimum attained loss") and, less
// at the mercy of one lucky batch, the mean loss over the last tenth of the
// steps; seconds per step; for the orthogonal models the largest
// |U^T U - I| entry at the end (how orthogonal the carried inverse kept U).
// --compare and --study run their runs --jobs at a time on their own
// threads, each single-threaded unless --threads says otherwise; every run
// draws from its own generators, so the numbers do not depend on --jobs.
//
// Outputs: --csv (model, variant (quoted), seed, step, loss, seconds), --plot (the
// loss curves as in Figures 3.2-3.4: log10 of the loss averaged over windows
// of steps/100 steps, mean over seeds; --replot redraws it from a --csv
// file), and the table on stdout (markdown, beside the thesis's numbers
// where it has them). A single run can
// checkpoint and resume (--checkpoint / --resume), draw one step's backward
// graph (--graph FILE.dot, a PNG beside it when Graphviz is installed; drawn
// on a batch of its own, so the run is unchanged) and profile its training
// loop (--profile FILE.json: the per-op table with the scopes "forward",
// "backward", "Adam" and "Cayley", and a Chrome trace).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/profile.h"
#include "examples/cli.h"
#include "examples/graph_picture.h"
#include "examples/line_plot_png.h"
#include "examples/profile_report.h"
#include "examples/parallel_runs.h"
#include "examples/rnn_task_net.h"
#include "kernels/cuda/runtime.h"
#include "models/train_checkpoint.h"
#include "optim/check_finite.h"
#include "optim/optimizer.h"
#include "optim/progress.h"

using namespace nova;
using examples::RnnModel;
using examples::RnnTask;

namespace {

struct Config {
  RnnTask task = RnnTask::parenthesis;
  int64_t T = 100, batch = 0, hidden = 0, negative_ones = -1, steps = 2000;
  double lr = 1e-3, weight_decay = 0;
  int64_t reset_every = 50;
  nn::GORUOrthogonal goru_u = nn::GORUOrthogonal::eunn_fft;  // --goru-u
  int64_t goru_capacity = 2;                                  // --goru-capacity
  int64_t train_size = 0;  // --train-size: a fixed set of this many sequences; 0: a fresh batch every step
  Device device = kCPU;
  std::string csv_path, checkpoint, resume;
  int64_t checkpoint_every = 500, log_every = 100;
  std::string graph, profile;  // --graph, --profile: paths, empty when off
};

/// One training run: a model, a Neumann order (0: exact inverse) and a seed.
struct RunSpec {
  RnnModel model;
  int neumann;
  uint64_t seed;
  std::string variant;  // the row it belongs to: the model's label, or "Neumann 2"
};

struct RunResult {
  RunSpec spec;
  int64_t hidden = 0, params = 0;
  std::vector<double> losses;  // per step
  double min_loss = 0, final_loss = 0, seconds = 0, cayley_seconds = 0, orthogonality = 0;
  int64_t min_step = 0;
};

std::mutex csv_mutex;

/// Appends `rows` to the CSV (shared by the runs of --compare: one block of
/// whole rows at a time) and clears them.
void write_rows(std::ofstream* csv, std::string& rows) {
  std::lock_guard<std::mutex> lock(csv_mutex);
  *csv << rows;
  csv->flush();
  rows.clear();
}

/// The largest |U^T U - I| entry over the net's orthogonal weights (0 when none).
double orthogonality_error(const examples::RnnTaskNet& net) {
  NoGradGuard no_grad;
  double worst = 0;
  for (const optim::OrthogonalWeight& w : net.orthogonal_weights()) {
    Tensor U = w.U.to(kCPU).to(kFloat64);
    Tensor e = ops::sub(ops::matmul(ops::transpose(U, 0, 1), U), eye(U.size(0), -1, kFloat64));
    worst = std::max(worst, ops::max(ops::abs(e)).item());
  }
  return worst;
}

RunResult train_run(const Config& cfg, const RunSpec& spec, optim::Progress& progress, std::ofstream* csv) {
  const int64_t hidden = cfg.hidden > 0 ? cfg.hidden : examples::default_hidden(cfg.task, spec.model);
  const bool eunn = spec.model == RnnModel::goru && cfg.goru_u != nn::GORUOrthogonal::cayley;
  const int64_t neg = eunn                      ? 0  // EUNN's rotations have no D
                      : cfg.negative_ones >= 0 ? std::min(cfg.negative_ones, hidden)
                                               : examples::default_negative_ones(cfg.task, spec.model);
  const int64_t batch = cfg.batch > 0 ? cfg.batch : examples::default_batch(cfg.task);
  // init and data from two streams of the seed: the same network whatever
  // the steps, and the same batches whatever the model
  Generator init_gen(spec.seed * 2 + 1), data_gen(spec.seed * 2 + 2);
  examples::RnnTaskNet net(spec.model, cfg.task, hidden, neg, init_gen, kFloat32, cfg.goru_u, cfg.goru_capacity);
  net.to(cfg.device);
  optim::Adam adam(net.ordinary_parameters(), optim::AdamOptions{cfg.lr, {0.9, 0.999}, 1e-8, cfg.weight_decay});
  std::unique_ptr<optim::CayleyOptimizer> cayley;
  if (!net.orthogonal_weights().empty()) {
    std::vector<Tensor> skews;
    for (const auto& w : net.orthogonal_weights()) skews.push_back(w.A);
    cayley = std::make_unique<optim::CayleyOptimizer>(
        net.orthogonal_weights(), std::make_unique<optim::Adam>(skews, optim::AdamOptions{cfg.lr}),
        optim::CayleyOptions{spec.neumann, cfg.reset_every});
  }
  models::TrainCheckpoint ckpt;
  ckpt.add("net", net).add("adam", adam).add("data_gen", data_gen);
  if (cayley) ckpt.add("cayley", *cayley);
  ckpt.setting("task", examples::rnn_task_name(cfg.task)).setting("model", examples::rnn_model_name(spec.model));
  ckpt.setting("T", std::to_string(cfg.T)).setting("batch", std::to_string(batch));
  ckpt.setting("hidden", std::to_string(hidden)).setting("negative_ones", std::to_string(neg));
  ckpt.setting("lr", fmt::format("{}", cfg.lr)).setting("weight_decay", fmt::format("{}", cfg.weight_decay));
  ckpt.setting("neumann", std::to_string(spec.neumann)).setting("reset_every", std::to_string(cfg.reset_every));
  ckpt.setting("seed", std::to_string(spec.seed));
  if (cfg.train_size > 0) ckpt.setting("train_size", std::to_string(cfg.train_size));
  if (spec.model == RnnModel::goru) {
    ckpt.setting("goru_u", examples::goru_u_name(cfg.goru_u));
    if (cfg.goru_u == nn::GORUOrthogonal::eunn_tunable) ckpt.setting("goru_capacity", std::to_string(cfg.goru_capacity));
  }

  RunResult r;
  r.spec = spec;
  r.hidden = hidden;
  r.params = net.trainable_parameters();
  int64_t first = 1;
  if (!cfg.resume.empty()) {
    first = ckpt.load(cfg.resume) + 1;
    NOVA_CHECK(first - 1 <= cfg.steps, "rnn_tasks: --resume {}: saved after step {}, beyond --steps {}", cfg.resume,
               first - 1, cfg.steps);
    progress.print("resumed from {} after step {} (the loss table covers the steps run now)\n", cfg.resume,
                   first - 1);
  }
  if (!cfg.graph.empty()) {
    Generator graph_gen(spec.seed * 2 + 3);  // a batch of its own: data_gen's stream stays the run's
    const datasets::SequenceBatch b = examples::task_batch(cfg.task, cfg.T, batch, graph_gen, kFloat32, cfg.device);
    autograd::DotOptions options;
    options.names = net.named_parameters();
    options.root_names = {"loss"};
    options.title = fmt::format("rnn_tasks, one step: {} on {}, T {}, batch {}", spec.variant,
                                examples::rnn_task_name(cfg.task), cfg.T, batch);
    progress.print("{}\n", examples::write_graph_picture(
                                cfg.graph, {examples::task_loss(cfg.task, net.forward(b.inputs), b)}, options));
  }
  std::unique_ptr<profile::Profiler> profiler;
  if (!cfg.profile.empty()) profiler = std::make_unique<profile::Profiler>(examples::kProfileEvents);
  optim::FiniteCheck finite(optim::OnNonFinite::stop);
  const std::string label = fmt::format("{} seed {}", spec.variant, spec.seed);
  const auto start = std::chrono::steady_clock::now();
  std::string rows;
  // --train-size: the set is drawn once from a stream of its own, and each
  // epoch's order from a generator of (seed, epoch), so a resumed run
  // rebuilds both; batches of an epoch are disjoint, the last partial one
  // dropped
  datasets::SequenceBatch train_set;
  Tensor order;  // the current epoch's permutation
  const int64_t per_epoch = cfg.train_size / batch;
  if (cfg.train_size > 0) {
    NOVA_CHECK(per_epoch >= 1, "rnn_tasks: --train-size {} is smaller than the batch {}", cfg.train_size, batch);
    Generator set_gen(spec.seed * 2 + 4);
    train_set = examples::task_batch(cfg.task, cfg.T, cfg.train_size, set_gen, kFloat32, cfg.device);
  }
  for (int64_t step = first; step <= cfg.steps; ++step) {
    datasets::SequenceBatch b;
    if (train_set.inputs.defined()) {
      const int64_t epoch = (step - 1) / per_epoch, k = (step - 1) % per_epoch;
      if (k == 0 || !order.defined()) {
        Generator epoch_gen(spec.seed * 1000003 + uint64_t(epoch));
        order = randperm(cfg.train_size, kCPU, &epoch_gen);
      }
      b = examples::select_sequences(cfg.task, train_set, ops::narrow(order, 0, k * batch, batch));
    } else {
      b = examples::task_batch(cfg.task, cfg.T, batch, data_gen, kFloat32, cfg.device);
    }
    Tensor loss;
    {
      profile::Scope scope("forward");
      loss = examples::task_loss(cfg.task, net.forward(b.inputs), b);
    }
    adam.zero_grad();
    if (cayley) cayley->zero_grad();
    {
      profile::Scope scope("backward");
      loss.backward();
    }
    {
      profile::Scope scope("Adam");
      adam.step();
    }
    if (cayley) {
      profile::Scope scope("Cayley");
      const auto t0 = std::chrono::steady_clock::now();
      cayley->step();
      if (cfg.device.is_cuda()) cuda::synchronize(cfg.device.index);  // the update's own time
      r.cayley_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
    const double value = loss.item();
    finite.value(step, "loss", value);
    r.losses.push_back(value);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (csv) rows += fmt::format("{},\"{}\",{},{},{:.6g},{:.3f}\n", examples::rnn_model_name(spec.model), spec.variant,
                                 spec.seed, step, value, elapsed);
    if (csv && (step % 500 == 0 || step == cfg.steps)) write_rows(csv, rows);  // a crash loses at most 500 rows
    progress.update(label, step, cfg.steps, fmt::format("loss {:.4g}", value), elapsed);
    if (!cfg.checkpoint.empty() && (step == cfg.steps || (cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0)))
      ckpt.save(cfg.checkpoint, step);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (profiler) {
    const std::string report = examples::finish_profile(*profiler, cfg.profile);
    progress.clear();
    fmt::print("{}", report);
  }
  NOVA_CHECK(!r.losses.empty(), "rnn_tasks: no steps were run (--steps {}, resumed after {})", cfg.steps, first - 1);
  const auto min_it = std::min_element(r.losses.begin(), r.losses.end());
  r.min_loss = *min_it;
  r.min_step = first + (min_it - r.losses.begin());
  const size_t tail = std::max<size_t>(1, r.losses.size() / 10);
  r.final_loss = std::accumulate(r.losses.end() - tail, r.losses.end(), 0.0) / double(tail);
  r.orthogonality = orthogonality_error(net);
  return r;
}

/// Runs `specs` `jobs` at a time, each on `threads` OpenMP threads; results in
/// the order given, a line printed as each run ends.
std::vector<RunResult> train_all(const Config& cfg, const std::vector<RunSpec>& specs, int64_t jobs, int64_t threads,
                                 std::ofstream* csv) {
  optim::Progress lines(false);
  auto label = [&](size_t i) { return fmt::format("{} seed {}", specs[i].variant, specs[i].seed); };
  return examples::run_in_parallel<RunResult>(
      specs.size(), jobs, threads,
      [&](size_t i) {
        optim::Progress quiet(false);  // a run's own bar and lines: off (runs overlap)
        return train_run(cfg, specs[i], quiet, csv);
      },
      [&](size_t i, const RunResult& r) {
        lines.print("{:<24} min loss {:.4g} (step {}), last-tenth mean {:.4g}, {:.1f} s  [{} of {} runs]\n", label(i),
                    r.min_loss, r.min_step, r.final_loss, r.seconds, i + 1, specs.size());
      },
      label);
}

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

double sd_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

/// The rows of `results` grouped by variant, in first-seen order.
std::vector<std::vector<const RunResult*>> by_variant(const std::vector<RunResult>& results) {
  std::vector<std::vector<const RunResult*>> groups;
  std::map<std::string, size_t> index;
  for (const RunResult& r : results) {
    auto [it, added] = index.emplace(r.spec.variant, groups.size());
    if (added) groups.emplace_back();
    groups[it->second].push_back(&r);
  }
  return groups;
}

/// The markdown table of the runs, losses in the thesis table's unit.
void print_table(const Config& cfg, const std::vector<RunResult>& results, bool thesis_column) {
  const double unit = examples::thesis_loss_unit(cfg.task);
  const std::string unit_text = unit == 1 ? "" : fmt::format(" (x {:g})", unit);
  fmt::print("\n{} T={}, {} steps, batch {}; losses{}: mean (sd) over seeds\n\n",
             examples::rnn_task_name(cfg.task), cfg.T, cfg.steps,
             cfg.batch > 0 ? cfg.batch : examples::default_batch(cfg.task), unit_text);
  fmt::print("| model | hidden | trained params | seeds | min loss | best seed's min | last-tenth mean |{} ms/step | "
             "Cayley ms/update | max abs(U^T U - I) |\n",
             thesis_column ? " thesis Table min |" : "");
  fmt::print("|---|---|---|---|---|---|---|{}---|---|---|\n", thesis_column ? "---|" : "");
  for (const auto& group : by_variant(results)) {
    std::vector<double> mins, finals, ms, cayley_ms, ortho;
    for (const RunResult* r : group) {
      mins.push_back(r->min_loss / unit);
      finals.push_back(r->final_loss / unit);
      ms.push_back(1e3 * r->seconds / double(r->losses.size()));
      cayley_ms.push_back(1e3 * r->cayley_seconds / double(r->losses.size()));
      ortho.push_back(r->orthogonality);
    }
    const RunResult& first = *group.front();
    const double thesis = examples::thesis_min_loss(cfg.task, first.spec.model, cfg.T) / unit;
    const bool orthogonal = examples::has_orthogonal_weights(first.spec.model, cfg.goru_u);
    fmt::print("| {} | {} | {} | {} | {:.4g} ({:.2g}) | {:.4g} | {:.4g} ({:.2g}) |{} {:.2f} | {} | {} |\n",
               first.spec.variant, first.hidden, first.params, group.size(), mean_of(mins), sd_of(mins),
               *std::min_element(mins.begin(), mins.end()), mean_of(finals), sd_of(finals),
               thesis_column ? (std::isnan(thesis) ? std::string(" - |") : fmt::format(" {:g} |", thesis)) : "",
               mean_of(ms), orthogonal ? fmt::format("{:.3f}", mean_of(cayley_ms)) : "-",
               orthogonal ? fmt::format("{:.1e}", *std::max_element(ortho.begin(), ortho.end())) : "-");
  }
  const double baseline = examples::task_baseline_loss(cfg.task, cfg.T);
  if (!std::isnan(baseline))
    fmt::print("\nthe task's no-memory baseline loss: {:.4g}{}\n", baseline / unit, unit_text);
}

/// --plot: log10 of the windowed mean loss, mean over seeds, one line per
/// variant; each window's value drawn across its steps, so that the x axis
/// counts steps.
void write_plot(const std::vector<RunResult>& results, const std::string& path, const std::string& title) {
  static const examples::Rgb colors[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},
                                         {148, 103, 189}, {140, 86, 75},  {227, 119, 194}, {127, 127, 127}};
  examples::LinePanel panel;
  panel.title = title;
  size_t c = 0;
  for (const auto& group : by_variant(results)) {
    const size_t n = group.front()->losses.size();
    const size_t window = std::max<size_t>(1, n / 100);
    std::vector<double> y;
    for (size_t start = 0; start + window <= n; start += window) {
      double s = 0;
      for (const RunResult* r : group)
        for (size_t i = start; i < start + window; ++i) s += r->losses.at(i);
      y.insert(y.end(), window, std::log10(s / double(window * group.size())));
    }
    panel.series.push_back({group.front()->spec.variant, y, colors[c++ % std::size(colors)]});
  }
  examples::write_line_plot_png(path, {panel}, 960, 400);
  fmt::print("wrote {}\n", path);
}

std::string plot_title(const std::string& task, int64_t T, int64_t steps, int64_t seeds) {
  return fmt::format("{} T={}: log10 loss, {}-step windows, mean of {} seed(s)", task, T,
                     std::max<int64_t>(1, steps / 100), seeds);
}

/// --replot: the runs of a --csv file (losses only), to draw --plot again
/// without training. Throws naming the file and line on a malformed row.
std::vector<RunResult> read_csv_runs(const std::string& path, int64_t& seeds) {
  std::ifstream in(path);
  NOVA_CHECK(in.good(), "rnn_tasks: --replot {}: cannot open", path);
  std::string line;
  NOVA_CHECK(std::getline(in, line) && line == "model,variant,seed,step,loss,seconds",
             "rnn_tasks: --replot {}: line 1 is not the header rnn_tasks --csv writes", path);
  std::vector<RunResult> runs;
  std::map<std::pair<std::string, std::string>, size_t> index;  // (variant, seed) -> run
  std::map<std::string, int> seed_set;
  for (int64_t number = 2; std::getline(in, line); ++number) {
    std::vector<std::string> f(1);
    bool quoted = false;  // the variant is quoted: "NC-GRU(U_r, U_c)" holds a comma
    for (char ch : line) {
      if (ch == '"') quoted = !quoted;
      else if (ch == ',' && !quoted) f.emplace_back();
      else f.back() += ch;
    }
    NOVA_CHECK(f.size() == 6, "rnn_tasks: --replot {}: line {}: expected 6 fields, got {}", path, number, f.size());
    auto [it, added] = index.emplace(std::make_pair(f[1], f[2]), runs.size());
    if (added) {
      runs.emplace_back();
      runs.back().spec = {examples::parse_rnn_model(f[0]), 0, 0, f[1]};
    }
    seed_set[f[2]] = 1;
    char* end = nullptr;
    const double loss = std::strtod(f[4].c_str(), &end);
    NOVA_CHECK(end != f[4].c_str() && *end == '\0', "rnn_tasks: --replot {}: line {}: loss '{}' is not a number",
               path, number, f[4]);
    runs[it->second].losses.push_back(loss);
  }
  NOVA_CHECK(!runs.empty(), "rnn_tasks: --replot {}: no rows", path);
  seeds = int64_t(seed_set.size());
  return runs;
}

int run(int argc, char** argv) {
  Config cfg;
  // a row's label: the thesis's model name, and GORU's U when it is not the
  // default EUNN (FFT style)
  const auto variant_label = [&cfg](RnnModel m) {
    std::string label = examples::rnn_model_label(m);
    if (m == RnnModel::goru && cfg.goru_u != nn::GORUOrthogonal::eunn_fft)
      label += cfg.goru_u == nn::GORUOrthogonal::cayley ? " (Cayley U)" : " (EUNN tunable)";
    return label;
  };
  std::string task = "parenthesis", model = "ncgru-uc", device = "cpu", models = "all", study, plot, replot;
  int64_t neumann = 2, seeds = 1, jobs = 0, threads = 1;
  uint64_t seed = 0;
  bool compare = false;
  examples::Cli cli("rnn_tasks", "train the recurrent nets of thesis section 3.1 on a sequence task");
  cli.choice("task", task, examples::rnn_task_names(), "the task (datasets/rnn_tasks.h)");
  cli.choice("model", model, examples::rnn_model_names(), "the model of a single run");
  cli.integer("T", cfg.T, "sequence length (parenthesis, adding) or delay (denoise, copying)", 2, 100000);
  cli.integer("steps", cfg.steps, "training steps, a fresh batch each (or batches of --train-size)", 1);
  int64_t epochs = 0;
  cli.integer("train-size", cfg.train_size,
              "train on a fixed set of this many sequences, drawn once per seed, in shuffled batches (the last "
              "partial batch of each epoch dropped); 0: a fresh batch every step", 0);
  cli.integer("epochs", epochs, "with --train-size: passes over the set, setting --steps to epochs x "
                                "(train-size / batch); 0: --steps", 0);
  cli.integer("batch", cfg.batch, "batch size; 0: the thesis's (16 parenthesis, 128 otherwise)", 0);
  cli.integer("hidden", cfg.hidden, "hidden size; 0: the thesis's parameter-matched size for the model", 0);
  cli.integer("negative-ones", cfg.negative_ones, "-1 entries of D; -1: the thesis's count for the model", -1);
  cli.real("lr", cfg.lr, "Adam learning rate of every weight, A included", examples::RealRange::positive());
  cli.real("weight-decay", cfg.weight_decay, "Adam's L2 weight decay on the ordinary weights (the thesis names "
                                             "none; the authors' parenthesis code uses 1e-4)",
           examples::RealRange::non_negative());
  std::string goru_u = "eunn-fft";
  cli.choice("goru-u", goru_u, examples::goru_u_names(),
             "how GORU makes its orthogonal U: eunn-fft (its paper's EUNN, FFT style, as GORU's task scripts run "
             "it; nn/eunn.h), eunn-tunable (EUNN, --goru-capacity layers), cayley (the scaled Cayley transform "
             "trained by the CayleyOptimizer, as NC-GRU's U_c)");
  cli.integer("goru-capacity", cfg.goru_capacity, "layers of GORU's tunable-style EUNN (GORU's code: 2)", 1, 4096);
  cli.integer("neumann", neumann, "Neumann order of the carried inverse (thesis: 2); 0: exact inverse every step",
              0, 3);
  cli.integer("reset-every", cfg.reset_every, "exact inverse every N steps (thesis: 50); 0: never", 0);
  cli.integer("seed", seed, "seed of a single run; --compare and --study use seeds 0..N-1");
  cli.integer("seeds", seeds, "seeds per model in --compare and --study", 1, 1000);
  cli.flag("compare", compare, "train every model of --models on the task and print the table beside the thesis's");
  cli.text("models", models, "comma-separated models for --compare, or all");
  cli.choice("study", study, {"", "neumann"},
             "neumann: NC-GRU(U_c) with Neumann orders 1, 2, 3 and the exact inverse (Figures 3.4-3.5)");
  cli.integer("jobs", jobs, "runs trained at once by --compare and --study; 0: one per hardware thread", 0, 256);
  cli.threads("threads", threads, "OpenMP threads of each run");
  cli.text("device", device, "cpu or cuda[:N]", [](const std::string& s) { Device::parse(s); });
  cli.text("csv", cfg.csv_path, "write model,variant,seed,step,loss,seconds of every step to this file");
  cli.text("plot", plot, "write the loss curves (Figures 3.2-3.4 style) to this PNG");
  cli.text("graph", cfg.graph,
           "single run: write the backward graph of one training step's loss to this Graphviz DOT file "
           "(parameters named), and a PNG beside it when Graphviz's dot is installed (apt-get install graphviz)");
  cli.text("profile", cfg.profile,
           "single run: " + examples::profile_option_help("'forward', 'backward', 'Adam' and 'Cayley'"));
  cli.text("checkpoint", cfg.checkpoint, "single run: save the training state here every --checkpoint-every steps");
  cli.integer("checkpoint-every", cfg.checkpoint_every, "steps between checkpoints; 0: only at the end", 0);
  cli.text("resume", cfg.resume, "single run: continue from this checkpoint (the same options)");
  cli.integer("log-every", cfg.log_every, "a progress line every N steps when stderr is not a terminal", 0);
  cli.text("replot", replot, "draw --plot from this --csv file of an earlier run (same --task, --T, --steps) and "
                             "exit, without training");
  if (std::optional<int> status = cli.parse(argc, argv)) return *status;
  cfg.goru_u = examples::parse_goru_u(goru_u);

  if (!replot.empty()) {
    NOVA_CHECK(!plot.empty(), "rnn_tasks: --replot needs --plot, the PNG to write");
    int64_t csv_seeds = 0;
    const std::vector<RunResult> runs = read_csv_runs(replot, csv_seeds);
    write_plot(runs, plot, plot_title(task, cfg.T, cfg.steps, csv_seeds));
    return 0;
  }
  cfg.task = examples::parse_rnn_task(task);
  cfg.device = Device::parse(device);
  if (epochs > 0) {
    NOVA_CHECK(cfg.train_size > 0, "rnn_tasks: --epochs needs --train-size (without it every step is a fresh batch)");
    const int64_t b = cfg.batch > 0 ? cfg.batch : examples::default_batch(cfg.task);
    NOVA_CHECK(cfg.train_size >= b, "rnn_tasks: --train-size {} is smaller than the batch {}", cfg.train_size, b);
    cfg.steps = epochs * (cfg.train_size / b);
  }
  const bool many = compare || !study.empty();
  NOVA_CHECK(!(compare && !study.empty()), "rnn_tasks: give --compare or --study, not both");
  NOVA_CHECK(!many || (cfg.checkpoint.empty() && cfg.resume.empty()),
             "rnn_tasks: --checkpoint and --resume are for a single run, not --compare or --study");
  NOVA_CHECK(!many || (cfg.graph.empty() && cfg.profile.empty()),
             "rnn_tasks: --graph and --profile are for a single run, not --compare or --study");
  if (jobs == 0) jobs = std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));
  if (threads > 0) omp_set_num_threads(int(threads));

  std::ofstream csv;
  if (!cfg.csv_path.empty()) {
    csv.open(cfg.csv_path);
    NOVA_CHECK(csv.good(), "rnn_tasks: --csv {}: cannot open for writing", cfg.csv_path);
    csv << "model,variant,seed,step,loss,seconds\n";
  }
  std::ofstream* csv_ptr = csv.is_open() ? &csv : nullptr;

  std::vector<RunSpec> specs;
  if (study == "neumann") {
    for (int order : {1, 2, 3, 0})
      for (int64_t s = 0; s < seeds; ++s)
        specs.push_back({RnnModel::ncgru_uc, order, uint64_t(s),
                         order == 0 ? std::string("exact inverse") : fmt::format("Neumann {}", order)});
  } else if (compare) {
    std::vector<RnnModel> list;
    if (models == "all") {
      for (const std::string& m : examples::rnn_model_names()) list.push_back(examples::parse_rnn_model(m));
    } else {
      for (size_t at = 0; at <= models.size();) {
        const size_t comma = std::min(models.find(',', at), models.size());
        list.push_back(examples::parse_rnn_model(models.substr(at, comma - at)));
        at = comma + 1;
      }
    }
    for (RnnModel m : list)
      for (int64_t s = 0; s < seeds; ++s) specs.push_back({m, int(neumann), uint64_t(s), variant_label(m)});
  } else {
    const RnnModel m = examples::parse_rnn_model(model);
    specs.push_back({m, int(neumann), seed, variant_label(m)});
  }

  fmt::print("rnn_tasks: {} T={}, {} steps, batch {}, Adam lr {:g}, Neumann {} (reset every {}), device {}, "
             "{} run(s)\n",
             task, cfg.T, cfg.steps, cfg.batch > 0 ? cfg.batch : examples::default_batch(cfg.task), cfg.lr,
             study == "neumann" ? std::string("1, 2, 3, exact") : std::to_string(neumann), cfg.reset_every,
             cfg.device.str(), specs.size());
  std::vector<RunResult> results;
  if (many) {
    results = train_all(cfg, specs, jobs, threads, csv_ptr);
  } else {
    optim::Progress progress(optim::Progress::on_terminal(), cfg.log_every);
    results.push_back(train_run(cfg, specs.front(), progress, csv_ptr));
    progress.clear();
  }
  print_table(cfg, results, study.empty());
  if (!plot.empty()) write_plot(results, plot, plot_title(task, cfg.T, cfg.steps, many ? seeds : 1));
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
