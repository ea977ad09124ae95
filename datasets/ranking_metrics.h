// datasets/ranking_metrics.h: the top-N metrics of sequential
// recommendation (Caser, CosRec; thesis section 4.1), as CosRec's
// evaluation.py computes them. For each user with test items:
//
//   ranking    every candidate item by score, highest first, after removing
//              the user's training items (and the padding item 0)
//   targets    the user's test items, as a set (repeats count once)
//   hits@k     targets among the first k of the ranking
//   P@k        hits@k / min(k, ranking length)   (CosRec divides by the
//              length of ranking[:k], which is k unless fewer items are left)
//   R@k        hits@k / |targets|
//   AP         sum over the ranks r (from 0) that hold a target of
//              (targets among ranks 0..r) / (r + 1), divided by |targets|
//              (CosRec's _compute_apk with k = inf: every target counts,
//              wherever it is ranked; one that was removed, because the user
//              had it in training too, is never hit but still counts in
//              |targets|, as in CosRec)
//   MAP        mean AP over the users; P@k and R@k likewise averaged,
//              for k = 1, 5, 10 by default.
//
// Users without test items are skipped, as CosRec skips them. Ties in
// score go to the lower item id (CosRec's argsort breaks them arbitrarily);
// a NaN score ranks after every number.
//
// From scores, nothing is sorted: a target's rank is the number of
// candidates that come before it, found for all targets in one pass over
// the items (O(items * log targets) per user, where a sort would be
// O(items * log items)): 14k users x 13k items with 20 targets each took
// 4.6 s on one core of the 2-core build machine (Release).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nova::datasets {

/// The means over the users evaluated so far.
struct RankingMetrics {
  std::vector<int64_t> ks;         ///< the cut-offs, e.g. {1, 5, 10}
  std::vector<double> precision;   ///< [ks.size()] mean P@k
  std::vector<double> recall;      ///< [ks.size()] mean R@k
  double map = 0;                  ///< mean average precision
  int64_t users = 0;               ///< users evaluated (with at least one target)

  /// "MAP 0.1873, P@1 0.2871, P@5 0.2470, P@10 0.2196, R@1 0.0193, ..."
  std::string summary() const;
};

/// The metrics of one user.
struct UserRankingMetrics {
  std::vector<double> precision;  ///< [ks.size()] P@k
  std::vector<double> recall;     ///< [ks.size()] R@k
  double average_precision = 0;   ///< AP
};

/// One user's metrics from an explicit ranking (the candidates, best first,
/// with training items already removed) and its targets. Throws nova::Error
/// when targets is empty or a k is < 1. A repeated item in the ranking
/// counts at its first place only (as CosRec's apk).
UserRankingMetrics user_ranking_metrics(const std::vector<int64_t>& ranking, const std::vector<int64_t>& targets,
                                        const std::vector<int64_t>& ks = {1, 5, 10});

/// Sums the metrics of users one at a time; result() gives the means.
class RankingEvaluator {
 public:
  /// Throws nova::Error when ks is empty or a k is < 1.
  explicit RankingEvaluator(std::vector<int64_t> ks = {1, 5, 10});

  /// A user with an explicit ranking (see user_ranking_metrics). Returns
  /// false, counting nothing, when targets is empty.
  bool add_ranking(const std::vector<int64_t>& ranking, const std::vector<int64_t>& targets);

  /// A user with scores[i] for items i = 0..num_items-1: items 1..num_items-1
  /// not in `excluded` are ranked (item 0 is padding, never ranked).
  /// Returns false, counting nothing, when targets is empty. Throws
  /// nova::Error for num_items < 1 or a target outside 1..num_items-1
  /// (excluded items may be anything; those out of range are ignored).
  bool add_scores(const float* scores, int64_t num_items, const std::vector<int64_t>& excluded,
                  const std::vector<int64_t>& targets);

  /// A batch of users: scores [b, num_items] (float32 or float64, any
  /// device; copied to the CPU) for users[0..b), whose exclusion sets and
  /// targets are excluded[users[i]] and targets[users[i]] (e.g. a split's
  /// training_item_sets(train) and test). Returns the number of users
  /// counted. Throws nova::Error for a bad shape or dtype, or a user id
  /// outside excluded or targets.
  int64_t add_scores(const Tensor& scores, const std::vector<int64_t>& users,
                     const std::vector<std::vector<int64_t>>& excluded,
                     const std::vector<std::vector<int64_t>>& targets);

  /// The means so far (all zero when no user was counted).
  RankingMetrics result() const;

 private:
  void add(const UserRankingMetrics& m);

  std::vector<int64_t> ks_;
  std::vector<double> precision_sum_, recall_sum_;
  double ap_sum_ = 0;
  int64_t users_ = 0;
};

}  // namespace nova::datasets
