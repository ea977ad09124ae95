// examples/gan_8gaussians_report.cpp: the 8-Gaussian trainer's reports (see
// gan_8gaussians_report.h).
#include "examples/gan_8gaussians_report.h"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace nova::examples {

namespace {

bool is_baseline(const MixtureRunResult& r) { return r.method == "baseline"; }

std::string case_counts(const MixtureRunResult& r) {
  if (is_baseline(r)) return "-";
  return fmt::format("{}", fmt::join(r.cases.begin() + 1, r.cases.end(), " "));
}

/// "12.3% 0.0% ..." : each of cases 1..5 as a share of their sum.
std::string case_shares(const std::array<int64_t, 6>& cases) {
  int64_t total = 0;
  for (int c = 1; c <= 5; ++c) total += cases[size_t(c)];
  std::string out;
  for (int c = 1; c <= 5; ++c)
    out += fmt::format("{:>7.1f}%", total ? 100.0 * double(cases[size_t(c)]) / double(total) : 0.0);
  return out;
}

std::vector<const MixtureRunResult*> runs_of(const std::vector<MixtureRunResult>& runs, const std::string& method) {
  std::vector<const MixtureRunResult*> out;
  for (const auto& r : runs)
    if (r.method == method) out.push_back(&r);
  return out;
}

void print_summary(const std::vector<MixtureRunResult>& runs, const MixtureReportSetup& setup,
                   const std::vector<std::string>& methods) {
  const int64_t lo = setup.cover_low, hi = setup.cover_high;
  const std::string lo_col = fmt::format("modes>={}", lo), hi_col = fmt::format("modes>={}", hi);
  fmt::print("\nsummary ({} steps each, {}; a mode is covered with >= {} or >= {} high-quality points of the "
             "evaluation samples):\n",
             setup.steps, setup.objective, lo, hi);
  fmt::print("{:<9} {:>5} {:>11} {:>8} {:>11} {:>8} {:>9} {:>7}  {}\n", "method", "seeds", lo_col, "all", hi_col,
             "all", "mean hq %", "mean s", "aw cases 1..5 (share of D steps)");
  for (const std::string& method : methods) {
    auto of = runs_of(runs, method);
    if (of.empty()) continue;
    double modes_lo = 0, modes_hi = 0, hq = 0, secs = 0;
    int64_t all_lo = 0, all_hi = 0, modes = 0;
    std::array<int64_t, 6> cases{};
    for (const MixtureRunResult* r : of) {
      const int64_t c_lo = modes_covered_at(r->metrics, lo), c_hi = modes_covered_at(r->metrics, hi);
      modes = r->metrics.modes;
      modes_lo += double(c_lo);
      modes_hi += double(c_hi);
      all_lo += c_lo == modes;
      all_hi += c_hi == modes;
      hq += r->metrics.high_quality_percent;
      secs += r->seconds;
      for (int c = 1; c <= 5; ++c) cases[size_t(c)] += r->cases[size_t(c)];
    }
    const double n = double(of.size());
    fmt::print("{:<9} {:>5} {:>8.2f}/{:<2} {:>5}/{:<2} {:>8.2f}/{:<2} {:>5}/{:<2} {:>9.1f} {:>7.1f}  {}\n", method,
               of.size(), modes_lo / n, modes, all_lo, of.size(), modes_hi / n, modes, all_hi, of.size(), hq / n,
               secs / n, method == "baseline" ? std::string("      -") : case_shares(cases));
  }
}

/// aw's case shares per snapshot window, summed over the seeds.
void print_case_windows(const std::vector<MixtureRunResult>& runs, const std::string& method) {
  auto of = runs_of(runs, method);
  if (of.empty() || of.front()->snapshots.empty()) return;
  fmt::print("\n{}: share of D steps in each case per window (all seeds):\n", method);
  fmt::print("{:<15} {:>8}{:>8}{:>8}{:>8}{:>8}\n", "steps", "case 1", "case 2", "case 3", "case 4", "case 5");
  const size_t windows = of.front()->snapshots.size();
  int64_t from = 1;
  for (size_t w = 0; w < windows; ++w) {
    std::array<int64_t, 6> cases{};
    int64_t to = 0;
    for (const MixtureRunResult* r : of) {
      if (w >= r->snapshots.size()) continue;
      to = r->snapshots[w].step;
      for (int c = 1; c <= 5; ++c) cases[size_t(c)] += r->snapshots[w].cases[size_t(c)];
    }
    fmt::print("{:<15} {}\n", fmt::format("{}-{}", from, to), case_shares(cases));
    from = to + 1;
  }
}

/// D's mean real-data logit (pgn: 1 - f) per mode at each snapshot, averaged
/// over seeds.
void print_real_logits(const std::vector<MixtureRunResult>& runs, const std::vector<std::string>& methods,
                       const std::string& real_score) {
  const MixtureRunResult* any = runs.empty() ? nullptr : &runs.front();
  if (!any || any->snapshots.empty()) return;
  const size_t modes = any->snapshots.front().real_logits.size();
  fmt::print("\nD's mean raw {} on 100 real points per mode, at each snapshot, averaged over the seeds "
             "(Figure 2.6 rows 2 and 4):\n", real_score);
  fmt::print("{:<9} {:>6}", "method", "step");
  for (size_t k = 0; k < modes; ++k) fmt::print(" {:>7}", fmt::format("mode {}", k + 1));
  fmt::print("  {:>15}\n", "lowest..highest");
  for (const std::string& method : methods) {
    auto of = runs_of(runs, method);
    if (of.empty()) continue;
    for (size_t w = 0; w < of.front()->snapshots.size(); ++w) {
      std::vector<double> mean(modes, 0.0);
      double n = 0;
      for (const MixtureRunResult* r : of) {
        if (w >= r->snapshots.size()) continue;
        n += 1;
        for (size_t k = 0; k < modes; ++k) mean[k] += r->snapshots[w].real_logits[k];
      }
      for (double& v : mean) v /= n;
      fmt::print("{:<9} {:>6}", method, of.front()->snapshots[w].step);
      for (double v : mean) fmt::print(" {:>+7.2f}", v);
      const auto [lo, hi] = std::minmax_element(mean.begin(), mean.end());
      fmt::print("  {:>+7.2f}..{:+.2f}\n", *lo, *hi);
    }
  }
}

}  // namespace

int64_t modes_covered_at(const datasets::MixtureMetrics& m, int64_t min_count) {
  int64_t covered = 0;
  for (int64_t count : m.high_quality_per_mode) covered += count >= min_count;
  return covered;
}

void print_run_result(const MixtureRunResult& r, const MixtureReportSetup& setup) {
  fmt::print("high-quality points per mode: {}\n", fmt::join(r.metrics.high_quality_per_mode, ","));
  if (!is_baseline(r)) fmt::print("aw cases 1..5 (D steps): {}\naw grad_split: {}\n", case_counts(r), r.grad_split);
  if (r.nonfinite_steps > 0)
    fmt::print("non-finite losses or gradients on {} of {} steps (--on-nonfinite continue)\n", r.nonfinite_steps,
               setup.steps);
  fmt::print("final: method={} loss={} g_loss={} seed={} steps={} modes_covered={} modes={} high_quality_pct={:.2f} "
             "seconds={:.2f} modes_covered_high={}\n",
             r.method, setup.loss, setup.g_loss, r.seed, setup.steps, modes_covered_at(r.metrics, setup.cover_low),
             r.metrics.modes, r.metrics.high_quality_percent, r.seconds, modes_covered_at(r.metrics, setup.cover_high));
}

void print_compare_report(const std::vector<MixtureRunResult>& runs, const MixtureReportSetup& setup) {
  const std::vector<std::string> methods = {"baseline", setup.aw_method};
  fmt::print("\n{:<6} {:<9} {:>9} {:>9} {:>7} {:>8}  {}\n", "seed", "method", fmt::format("modes>={}", setup.cover_low),
             fmt::format("modes>={}", setup.cover_high), "hq %", "wall s", "aw cases 1..5 (D steps)");
  for (const auto& r : runs)
    fmt::print("{:<6} {:<9} {:>6}/{:<2} {:>6}/{:<2} {:>7.1f} {:>8.1f}  {}\n", r.seed, r.method,
               modes_covered_at(r.metrics, setup.cover_low), r.metrics.modes,
               modes_covered_at(r.metrics, setup.cover_high), r.metrics.modes, r.metrics.high_quality_percent,
               r.seconds, case_counts(r));
  print_summary(runs, setup, methods);
  print_case_windows(runs, setup.aw_method);
  print_real_logits(runs, methods, setup.real_score);
}

}  // namespace nova::examples
