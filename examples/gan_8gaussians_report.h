// examples/gan_8gaussians_report.h: what one run of the 8-Gaussian GAN
// (examples/gan_8gaussians) reports, and the tables --compare prints over
// many runs.
//
// Why a file of its own: the trainer's loop and its reporting change for
// different reasons (a new option vs. a new column), and the --compare
// tables are most of the reporting: per seed, the outcome at two coverage
// thresholds; per method, the summary, the aw case histogram per snapshot
// window, and D's mean real-data logit per mode at each snapshot (the
// numbers behind Figure 2.6 rows 2 and 4), averaged over the seeds.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "datasets/mixture_metrics.h"

namespace nova::examples {

/// One snapshot of a run (every --plot-every steps; Figure 2.6's columns).
struct MixtureSnapshot {
  int64_t step = 0;
  datasets::MixtureMetrics metrics;  // of the fixed evaluation z at this step
  std::vector<double> real_logits;   // D's mean raw logit (pgn: 1 - f) on 100 real points of each mode
  std::array<int64_t, 6> cases{};    // aw: D steps that took case 1..5 since the previous snapshot
  Tensor points;                     // the generated points, kept only when a figure needs them
};

/// What one run (one method, one seed) ends with.
struct MixtureRunResult {
  std::string method;  // "baseline", "aw1", "aw2"
  uint64_t seed = 0;
  datasets::MixtureMetrics metrics;  // final, on the fixed evaluation z
  double seconds = 0;
  std::array<int64_t, 6> cases{};  // cases[1..5]: D steps that took each aw case
  std::string grad_split;          // aw: the grad_split path the D steps took, and why
  int64_t nonfinite_steps = 0;     // --on-nonfinite continue: steps with a NaN or inf loss or gradient
  std::vector<MixtureSnapshot> snapshots;
};

/// How the runs were set up, for the tables' headings.
struct MixtureReportSetup {
  int64_t steps = 0;
  std::string objective;          // for headings, e.g. "bce (G minimax)"
  std::string loss, g_loss;       // for the final line: "bce", "minimax"
  std::string real_score = "logit";  // what real_logits hold: "logit", or "1 - f" for pgn
  int64_t cover_low = 20;         // --cover-min
  int64_t cover_high = 50;        // --cover-min-high
  std::string aw_method = "aw1";  // the method compared with the baseline
};

/// Modes with at least `min_count` high-quality points in `m`.
int64_t modes_covered_at(const datasets::MixtureMetrics& m, int64_t min_count);

/// The end of a single run: points per mode, aw's cases and grad_split path,
/// non-finite steps, and one "final: key=value ..." line (scripts read it).
void print_run_result(const MixtureRunResult& r, const MixtureReportSetup& setup);

/// The --compare report over runs of the baseline and setup.aw_method: one
/// row per run (in the order given), the summary per method, aw's case
/// shares per snapshot window and the mean real-data logit per mode at each
/// snapshot (both over all seeds).
void print_compare_report(const std::vector<MixtureRunResult>& runs, const MixtureReportSetup& setup);

}  // namespace nova::examples
