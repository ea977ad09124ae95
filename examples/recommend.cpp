// examples/recommend: CosRec and SCosRec (thesis section 4.1.4.1, Table
// 4.1) for sequential recommendation: train one model, or --compare both
// over several seeds, and print the top-N metrics beside the thesis's.
//
//   recommend                                   SCosRec on the synthetic data
//   recommend --model cosrec --epochs 40
//   recommend --compare --seeds 3               both models, 3 seeds each, the table
//   recommend --data ml1m --path ml-1m/ratings.dat --epochs 40
//
// Data, training and evaluation: examples/recommend_run.h. Defaults are the
// thesis's (L 5, T 3, 3 negatives, batch 512, Adam 1e-3, plateau decay 0.15
// with patience 3 on MAP, dropout 0.5; d 50 / fc 150 for ML-1M, 100 / 50 for
// Gowalla, and ML-1M's for the synthetic data). Outputs: a progress bar,
// the evaluations, --csv (one row per epoch), --checkpoint / --resume (the
// whole training state at epoch ends; a resumed run ends bit for bit where
// an unbroken one does), --save (the model).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "examples/cli.h"
#include "examples/parallel_runs.h"
#include "examples/profile_report.h"
#include "examples/recommend_run.h"

using namespace nova;
using examples::RecommendConfig;
using examples::RecommendResult;

namespace {

/// Table 4.1 of the thesis: MAP, P@1, P@5, P@10, R@1, R@5, R@10 and the
/// parameter count (millions) of CosRec (as the thesis reproduced it) and SCosRec.
struct ThesisRow {
  const char* data;
  double cosrec[7], scosrec[7];
  double cosrec_m, scosrec_m;
};
constexpr ThesisRow kTable41[] = {
    {"ml1m", {0.1883, 0.3308, 0.2831, 0.2493, 0.0202, 0.0843, 0.1438},
     {0.1970, 0.3458, 0.2920, 0.2586, 0.0223, 0.0895, 0.1519}, 1.983, 1.730},
    {"gowalla", {0.0980, 0.2135, 0.1190, 0.0884, 0.0337, 0.0890, 0.1305},
     {0.1006, 0.2171, 0.1211, 0.0898, 0.0350, 0.0920, 0.1330}, 5.641, 5.383},
};
const char* kMetricNames[7] = {"MAP", "Prec@1", "Prec@5", "Prec@10", "Recall@1", "Recall@5", "Recall@10"};

double metric(const datasets::RankingMetrics& m, int i) {
  return i == 0 ? m.map : i <= 3 ? m.precision[size_t(i - 1)] : m.recall[size_t(i - 4)];
}

const ThesisRow* thesis_row(const std::string& data) {
  for (const ThesisRow& r : kTable41)
    if (data == r.data) return &r;
  return nullptr;
}

/// Mean and sample standard deviation of metric i over runs.
std::pair<double, double> mean_std(const std::vector<const RecommendResult*>& runs, int i, bool best) {
  double sum = 0, sq = 0;
  for (const RecommendResult* r : runs) sum += metric(best ? r->best : r->last, i);
  const double mean = sum / double(runs.size());
  for (const RecommendResult* r : runs) sq += std::pow(metric(best ? r->best : r->last, i) - mean, 2);
  return {mean, runs.size() > 1 ? std::sqrt(sq / double(runs.size() - 1)) : 0.0};
}

/// The results table: per model the last evaluation (mean +- std over seeds
/// when several), the thesis's numbers on ML-1M / Gowalla, and the
/// popularity baseline on the same split.
void print_table(const RecommendConfig& cfg, const examples::RecommendData& data,
                 const std::vector<RecommendResult>& results) {
  std::vector<std::string> models;
  for (const RecommendResult& r : results)
    if (std::find(models.begin(), models.end(), r.model) == models.end()) models.push_back(r.model);
  const ThesisRow* thesis = thesis_row(cfg.data);
  fmt::print("\n{:<11}", "metric");
  for (const std::string& m : models) fmt::print(" {:>18}", m + " (nova)");
  if (thesis) fmt::print(" {:>15} {:>15}", "CosRec (thesis)", "SCosRec (thesis)");
  fmt::print(" {:>11}\n", "popularity");
  for (int i = 0; i < 7; ++i) {
    fmt::print("{:<11}", kMetricNames[i]);
    for (const std::string& m : models) {
      std::vector<const RecommendResult*> runs;
      for (const RecommendResult& r : results)
        if (r.model == m) runs.push_back(&r);
      const auto [mean, sd] = mean_std(runs, i, false);
      fmt::print(" {:>18}", runs.size() > 1 ? fmt::format("{:.4f} +- {:.4f}", mean, sd) : fmt::format("{:.4f}", mean));
    }
    if (thesis) fmt::print(" {:>15.4f} {:>15.4f}", thesis->cosrec[i], thesis->scosrec[i]);
    fmt::print(" {:>11.4f}\n", metric(data.popularity, i));
  }
  fmt::print("{:<11}", "parameters");
  for (const std::string& m : models)
    for (const RecommendResult& r : results)
      if (r.model == m) {
        fmt::print(" {:>18}", fmt::format("{:.3f}M", double(r.parameters) / 1e6));
        break;
      }
  if (thesis) fmt::print(" {:>15} {:>15}", fmt::format("{:.3f}M", thesis->cosrec_m), fmt::format("{:.3f}M", thesis->scosrec_m));
  fmt::print("\n{:<11}", "seconds");
  for (const std::string& m : models) {
    double sum = 0;
    int n = 0;
    for (const RecommendResult& r : results)
      if (r.model == m) sum += r.seconds, ++n;
    fmt::print(" {:>18}", fmt::format("{:.0f} per run", sum / n));
  }
  fmt::print("\n(last evaluation after epoch {}; {}; the thesis's columns are Table 4.1's on {})\n", cfg.epochs,
             results.size() > models.size() ? "mean +- std over seeds" : "one seed",
             thesis ? cfg.data : "another data set: none for the synthetic data");
}

int run(int argc, char** argv) {
  RecommendConfig cfg;
  std::string device = "cpu", csv_path;
  bool compare = false;
  int64_t seeds = 1, jobs = 0, threads = 1;
  examples::Cli cli("recommend", "train CosRec / SCosRec (thesis 4.1.4.1) for sequential recommendation");
  cli.choice("model", cfg.model, {"cosrec", "scosrec"}, "the model of a single run");
  cli.choice("data", cfg.data, {"synthetic", "ml1m", "gowalla"},
             "synthetic (generated, datasets/synthetic_interactions.h), or a file given by --path");
  cli.text("path", cfg.path, "MovieLens-1M ratings.dat (--data ml1m) or Gowalla's check-ins file (--data gowalla)");
  cli.integer("users", cfg.synthetic_users, "users of the synthetic data", 1);
  cli.integer("items", cfg.synthetic_items, "items of the synthetic data (at least its 40 themes)", 40);
  cli.integer("epochs", cfg.epochs, "passes over the training windows", 1);
  cli.integer("batch", cfg.batch, "training windows per step", 1);
  cli.integer("L", cfg.L, "Markov order: items the model sees", 3);
  cli.integer("T", cfg.T, "items it predicts per window", 1);
  cli.integer("negatives", cfg.negatives, "negative items per window", 1);
  cli.integer("d", cfg.d, "embedding size (0: 50, Gowalla 100)", 0);
  cli.integer("fc-dim", cfg.fc_dim, "size of the dense layer after the CNN (0: 150, Gowalla 50)", 0);
  cli.real("lr", cfg.lr, "Adam learning rate", examples::RealRange::positive());
  cli.real("l2", cfg.l2, "Adam weight decay (negative: 5e-6, Gowalla 1e-6)", examples::RealRange::finite());
  cli.real("dropout", cfg.dropout, "dropout after the dense layer", {0, 1, false, true});
  cli.real("plateau-factor", cfg.plateau_factor, "lr factor when MAP stops improving", {0, 1, true, true});
  cli.integer("plateau-patience", cfg.plateau_patience, "evaluations without a better MAP before the lr drops", 0);
  cli.integer("eval-every", cfg.eval_every, "epochs between evaluations (and after the last)", 1);
  cli.integer("seed", cfg.seed, "seed of a single run; --compare uses seeds 0..N-1");
  cli.flag("compare", compare, "train CosRec and SCosRec for --seeds seeds each and print the table");
  cli.integer("seeds", seeds, "seeds per model in --compare", 1, 1000);
  cli.integer("jobs", jobs, "runs trained at once by --compare; 0: one per hardware thread", 0, 256);
  cli.threads("threads", threads, "OpenMP threads of each run");
  cli.text("device", device, "cpu or cuda[:N]", [](const std::string& s) { Device::parse(s); });
  cli.text("csv", csv_path, "write model,seed,epoch,loss,lr,seconds and the metrics of every epoch to this file");
  cli.text("checkpoint", cfg.checkpoint, "save the training state to this file every --checkpoint-every epochs");
  cli.integer("checkpoint-every", cfg.checkpoint_every, "epochs between checkpoints (0: only at the end)", 0);
  cli.text("resume", cfg.resume, "continue from this checkpoint (the same options) to --epochs");
  cli.text("save", cfg.save, "write the trained model to this .safetensors file");
  cli.text("graph", cfg.graph,
           "write one training step's backward graph to this Graphviz .dot file (and a PNG beside it when "
           "Graphviz's dot is installed)");
  cli.text("profile", cfg.profile, examples::profile_option_help("'forward', 'backward', 'Adam' and 'evaluate'"));
  if (std::optional<int> status = cli.parse(argc, argv)) return *status;
  cfg.device = Device::parse(device);
  NOVA_CHECK(!(compare && (!cfg.checkpoint.empty() || !cfg.resume.empty() || !cfg.save.empty() ||
                           !cfg.graph.empty() || !cfg.profile.empty())),
             "recommend: --checkpoint, --resume, --save, --graph and --profile are for a single run, not --compare");
  if (threads > 0) omp_set_num_threads(int(threads));
  if (jobs == 0) jobs = std::max<int64_t>(1, int64_t(std::thread::hardware_concurrency()));

  const examples::RecommendData data = examples::load_recommend_data(cfg);
  fmt::print("data: {}\n", data.description);
  fmt::print("popularity baseline: {}\n", data.popularity.summary());
  std::unique_ptr<std::ofstream> csv;
  if (!csv_path.empty()) {
    csv = std::make_unique<std::ofstream>(csv_path);
    NOVA_CHECK(*csv, "recommend: cannot write --csv {}", csv_path);
    *csv << examples::recommend_csv_header();
  }

  std::vector<RecommendResult> results;
  if (!compare) {
    optim::Progress progress(optim::Progress::on_terminal(), 0);
    results.push_back(examples::train_recommender(cfg, data, progress, csv.get()));
    const RecommendResult& r = results.back();
    fmt::print("{} seed {}: {} parameters, {:.0f} s; best MAP {:.4f} after epoch {}\n", r.model, r.seed,
               r.parameters, r.seconds, r.best.map, r.best_epoch);
  } else {
    std::vector<RecommendConfig> runs;
    for (const char* model : {"cosrec", "scosrec"})
      for (int64_t s = 0; s < seeds; ++s) {
        RecommendConfig c = cfg;
        c.model = model;
        c.seed = uint64_t(s);
        runs.push_back(c);
      }
    std::mutex csv_mutex;
    fmt::print("training {} runs, {} at a time\n", runs.size(), jobs);
    results = examples::run_in_parallel<RecommendResult>(
        runs.size(), jobs, threads,
        [&](size_t i) {
          optim::Progress quiet(false);  // runs overlap: no bars, no lines of their own
          // a run's rows go to the file when it ends, so that runs never interleave
          std::ostringstream rows;
          RecommendResult r = examples::train_recommender(runs[i], data, quiet, csv ? &rows : nullptr);
          std::lock_guard<std::mutex> lock(csv_mutex);
          if (csv) *csv << rows.str() << std::flush;
          return r;
        },
        [&](size_t, const RecommendResult& r) {
          fmt::print("  {} seed {}: MAP {:.4f} (best {:.4f} after epoch {}), {:.0f} s\n", r.model, r.seed, r.last.map,
                     r.best.map, r.best_epoch, r.seconds);
          std::fflush(stdout);
        },
        [&](size_t i) { return fmt::format("{} seed {}", runs[i].model, runs[i].seed); });
  }
  print_table(cfg, data, results);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "recommend: %s\n", e.what());
    return 1;
  }
}
