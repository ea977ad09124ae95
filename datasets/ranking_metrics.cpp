// datasets/ranking_metrics.cpp: P@k, R@k and AP of one user from the ranks
// of its targets, and the evaluator that averages them (definitions in
// ranking_metrics.h). Every path goes through metrics_from_ranks: an
// explicit ranking and a row of scores differ only in how the ranks of the
// targets are found.
#include "datasets/ranking_metrics.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "core/base/error.h"

namespace nova::datasets {

namespace {

void check_ks(const char* op, const std::vector<int64_t>& ks) {
  NOVA_CHECK(!ks.empty(), "{}: need at least one cut-off k", op);
  for (int64_t k : ks) NOVA_CHECK(k >= 1, "{}: every cut-off k must be >= 1, got {}", op, k);
}

// The metrics of a user whose targets (`num_targets` of them, all distinct)
// sit at the 0-based `ranks` (sorted, one per target that is ranked at all)
// of a ranking of `candidates` items.
UserRankingMetrics metrics_from_ranks(const std::vector<int64_t>& ranks, size_t num_targets, int64_t candidates,
                                      const std::vector<int64_t>& ks) {
  UserRankingMetrics m;
  const double targets = static_cast<double>(num_targets);
  for (int64_t k : ks) {
    const auto hits = static_cast<double>(std::lower_bound(ranks.begin(), ranks.end(), k) - ranks.begin());
    const int64_t shown = std::min(k, candidates);
    m.precision.push_back(shown > 0 ? hits / static_cast<double>(shown) : 0.0);
    m.recall.push_back(hits / targets);
  }
  // the j-th hit (from 1) at rank r adds j / (r + 1)
  double sum = 0;
  for (size_t j = 0; j < ranks.size(); ++j) sum += static_cast<double>(j + 1) / static_cast<double>(ranks[j] + 1);
  m.average_precision = sum / targets;
  return m;
}

// true when item a (score sa) ranks before item b (score sb): higher score
// first, a NaN after every number, ties to the lower id.
template <typename S>
bool ranks_before(S sa, int64_t a, S sb, int64_t b) {
  const bool na = std::isnan(sa), nb = std::isnan(sb);
  if (na != nb) return nb;
  if (!na && sa != sb) return sa > sb;
  return a < b;
}

// The sorted ranks of the targets that are candidates, and the number of
// candidates. Each candidate c ranks before a suffix of the targets (in
// ranking order): a binary search finds where it starts, and a running sum
// over those starts gives every target the count of candidates before it.
template <typename S>
UserRankingMetrics metrics_from_scores(const char* op, const S* scores, int64_t num_items,
                                       const std::vector<int64_t>& excluded, const std::vector<int64_t>& targets,
                                       const std::vector<int64_t>& ks) {
  NOVA_CHECK(num_items >= 1, "{}: num_items must be >= 1, got {}", op, num_items);
  std::vector<char> removed(size_t(num_items), 0);
  removed[0] = 1;  // padding
  for (int64_t item : excluded)
    if (item >= 0 && item < num_items) removed[size_t(item)] = 1;
  std::vector<int64_t> distinct(targets);
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<int64_t> ranked;  // the targets that are candidates
  for (int64_t t : distinct) {
    NOVA_CHECK(t >= 1 && t < num_items, "{}: target item {} is outside 1..{}", op, t, num_items - 1);
    if (!removed[size_t(t)]) ranked.push_back(t);
  }
  std::sort(ranked.begin(), ranked.end(),
            [&](int64_t a, int64_t b) { return ranks_before(scores[a], a, scores[b], b); });
  std::vector<int64_t> starts(ranked.size() + 1, 0);
  int64_t candidates = 0;
  for (int64_t c = 1; c < num_items; ++c) {
    if (removed[size_t(c)]) continue;
    ++candidates;
    const auto first = std::partition_point(ranked.begin(), ranked.end(), [&](int64_t t) {
      return !ranks_before(scores[c], c, scores[t], t);
    });
    ++starts[size_t(first - ranked.begin())];
  }
  std::vector<int64_t> ranks(ranked.size());
  int64_t before = 0;
  for (size_t j = 0; j < ranked.size(); ++j) ranks[j] = before += starts[j];
  return metrics_from_ranks(ranks, distinct.size(), candidates, ks);
}

}  // namespace

std::string RankingMetrics::summary() const {
  std::string out = fmt::format("MAP {:.4f}", map);
  for (size_t i = 0; i < ks.size(); ++i) out += fmt::format(", P@{} {:.4f}", ks[i], precision[i]);
  for (size_t i = 0; i < ks.size(); ++i) out += fmt::format(", R@{} {:.4f}", ks[i], recall[i]);
  return out + fmt::format(" ({} users)", users);
}

UserRankingMetrics user_ranking_metrics(const std::vector<int64_t>& ranking, const std::vector<int64_t>& targets,
                                        const std::vector<int64_t>& ks) {
  const char* op = "user_ranking_metrics";
  check_ks(op, ks);
  NOVA_CHECK(!targets.empty(), "{}: a user needs at least one target", op);
  const std::unordered_set<int64_t> wanted(targets.begin(), targets.end());
  std::unordered_set<int64_t> found;
  std::vector<int64_t> ranks;  // ascending: ranking order
  for (size_t r = 0; r < ranking.size(); ++r)
    if (wanted.count(ranking[r]) && found.insert(ranking[r]).second) ranks.push_back(static_cast<int64_t>(r));
  return metrics_from_ranks(ranks, wanted.size(), static_cast<int64_t>(ranking.size()), ks);
}

RankingEvaluator::RankingEvaluator(std::vector<int64_t> ks)
    : ks_(std::move(ks)), precision_sum_(ks_.size(), 0.0), recall_sum_(ks_.size(), 0.0) {
  check_ks("RankingEvaluator", ks_);
}

void RankingEvaluator::add(const UserRankingMetrics& m) {
  for (size_t i = 0; i < ks_.size(); ++i) {
    precision_sum_[i] += m.precision[i];
    recall_sum_[i] += m.recall[i];
  }
  ap_sum_ += m.average_precision;
  ++users_;
}

bool RankingEvaluator::add_ranking(const std::vector<int64_t>& ranking, const std::vector<int64_t>& targets) {
  if (targets.empty()) return false;
  add(user_ranking_metrics(ranking, targets, ks_));
  return true;
}

bool RankingEvaluator::add_scores(const float* scores, int64_t num_items, const std::vector<int64_t>& excluded,
                                  const std::vector<int64_t>& targets) {
  if (targets.empty()) return false;
  add(metrics_from_scores("RankingEvaluator::add_scores", scores, num_items, excluded, targets, ks_));
  return true;
}

int64_t RankingEvaluator::add_scores(const Tensor& scores, const std::vector<int64_t>& users,
                                     const std::vector<std::vector<int64_t>>& excluded,
                                     const std::vector<std::vector<int64_t>>& targets) {
  const char* op = "RankingEvaluator::add_scores";
  NOVA_CHECK(scores.defined() && scores.dim() == 2 && scores.size(0) == static_cast<int64_t>(users.size()),
             "{}: scores must be [users ({}), num_items], got {}", op, users.size(),
             scores.defined() ? scores.shape().str() : "an undefined tensor");
  NOVA_CHECK(scores.dtype() == kFloat32 || scores.dtype() == kFloat64,
             "{}: scores must be float32 or float64, got {}", op, dtype_name(scores.dtype()));
  const Tensor cpu = scores.to(kCPU).contiguous();
  const int64_t num_items = cpu.size(1);
  int64_t counted = 0;
  for (size_t i = 0; i < users.size(); ++i) {
    const int64_t u = users[i];
    NOVA_CHECK(u >= 0 && size_t(u) < excluded.size() && size_t(u) < targets.size(),
               "{}: user {} has no exclusion set or targets (they cover users 0..{} and 0..{})", op, u,
               int64_t(excluded.size()) - 1, int64_t(targets.size()) - 1);
    if (targets[size_t(u)].empty()) continue;
    const int64_t row = static_cast<int64_t>(i) * num_items;
    add(cpu.dtype() == kFloat32
            ? metrics_from_scores(op, cpu.data<float>() + row, num_items, excluded[size_t(u)], targets[size_t(u)], ks_)
            : metrics_from_scores(op, cpu.data<double>() + row, num_items, excluded[size_t(u)], targets[size_t(u)], ks_));
    ++counted;
  }
  return counted;
}

RankingMetrics RankingEvaluator::result() const {
  RankingMetrics r;
  r.ks = ks_;
  r.users = users_;
  const double n = users_ > 0 ? static_cast<double>(users_) : 1.0;
  for (size_t i = 0; i < ks_.size(); ++i) {
    r.precision.push_back(precision_sum_[i] / n);
    r.recall.push_back(recall_sum_[i] / n);
  }
  r.map = ap_sum_ / n;
  return r;
}

}  // namespace nova::datasets
