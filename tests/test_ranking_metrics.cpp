// tests/test_ranking_metrics.cpp: MAP, Precision@k and Recall@k
// (datasets/ranking_metrics.h) on rankings made by hand, with every
// expected number worked out in the comments; then scores must give the
// same numbers as the ranking they imply, and the one-pass rank counting
// must agree with sorting on random scores full of ties.
#include <random>

#include "datasets/ranking_metrics.h"
#include "test_util.h"

using namespace nova;
using namespace nova::datasets;
using Catch::Matchers::Contains;

namespace {

void check_close(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("index " << i);
    CHECK(got[i] == Approx(want[i]).margin(1e-12));
  }
}

// User A: 12 candidates, targets {3, 9, 6} at ranks 1, 4 and 8.
const std::vector<int64_t> kRankingA = {5, 3, 8, 1, 9, 2, 7, 4, 6, 10, 11, 12};
const std::vector<int64_t> kTargetsA = {3, 9, 6};
// User B: only 3 candidates; targets {2, 7}, 7 not among them (the user had
// it in training), 2 at rank 0.
const std::vector<int64_t> kRankingB = {2, 4, 6};
const std::vector<int64_t> kTargetsB = {2, 7};

}  // namespace

TEST_CASE("one user's P@k, R@k and AP match the hand computation", "[ranking_metrics]") {
  // A: top 1 = {5}: 0 hits; top 5 = {5,3,8,1,9}: 2; top 10 adds 6: 3.
  //   P = 0/1, 2/5, 3/10;  R = 0/3, 2/3, 3/3
  //   AP = (1/2 + 2/5 + 3/9) / 3 = 37/90
  const UserRankingMetrics a = user_ranking_metrics(kRankingA, kTargetsA);
  check_close(a.precision, {0.0, 0.4, 0.3});
  check_close(a.recall, {0.0, 2.0 / 3, 1.0});
  CHECK(a.average_precision == Approx(37.0 / 90).margin(1e-12));
  // B: 1 hit at rank 0; P@5 and P@10 divide by the 3 candidates (CosRec's
  //   len(predictions[:k])); R = 1/2 everywhere; AP = (1/1) / 2
  const UserRankingMetrics b = user_ranking_metrics(kRankingB, kTargetsB);
  check_close(b.precision, {1.0, 1.0 / 3, 1.0 / 3});
  check_close(b.recall, {0.5, 0.5, 0.5});
  CHECK(b.average_precision == Approx(0.5).margin(1e-12));
}

TEST_CASE("the evaluator averages over users and skips users without targets", "[ranking_metrics]") {
  RankingEvaluator ev;
  CHECK(ev.add_ranking(kRankingA, kTargetsA));
  CHECK_FALSE(ev.add_ranking(kRankingB, {}));  // CosRec skips a user with no test items
  CHECK(ev.add_ranking(kRankingB, kTargetsB));
  const RankingMetrics m = ev.result();
  CHECK(m.users == 2);
  CHECK(m.ks == std::vector<int64_t>{1, 5, 10});
  // means of the two users above
  check_close(m.precision, {0.5, (0.4 + 1.0 / 3) / 2, (0.3 + 1.0 / 3) / 2});
  check_close(m.recall, {0.25, (2.0 / 3 + 0.5) / 2, 0.75});
  CHECK(m.map == Approx((37.0 / 90 + 0.5) / 2).margin(1e-12));
  CHECK(m.summary() == "MAP 0.4556, P@1 0.5000, P@5 0.3667, P@10 0.3167, R@1 0.2500, R@5 0.5833, R@10 0.7500 (2 users)");
  CHECK(RankingEvaluator().result().map == 0.0);
}

TEST_CASE("repeats count once: a repeated target and a repeated ranked item", "[ranking_metrics]") {
  // targets {4, 4, 1} are the set {4, 1}; ranking 4, 4, 2, 1: hits at ranks
  // 0 and 3 (the second 4 is no new hit), AP = (1/1 + 2/4) / 2 = 0.75
  const UserRankingMetrics m = user_ranking_metrics({4, 4, 2, 1}, {4, 4, 1}, {1, 2});
  check_close(m.precision, {1.0, 0.5});
  check_close(m.recall, {0.5, 0.5});
  CHECK(m.average_precision == Approx(0.75));
}

TEST_CASE("scores rank like the ranking they imply, after removing training items and padding",
          "[ranking_metrics]") {
  // items 0..14: item 0 (padding) and the excluded 13, 14 get the highest
  // scores and must still not be ranked; items of kRankingA get 100 - place
  std::vector<float> scores(15, 0.0f);
  scores[0] = 1000;
  scores[13] = 500;
  scores[14] = 400;
  for (size_t r = 0; r < kRankingA.size(); ++r) scores[size_t(kRankingA[r])] = 100.0f - float(r);
  RankingEvaluator from_scores, from_ranking;
  REQUIRE(from_scores.add_scores(scores.data(), 15, {13, 14, 99, -3}, kTargetsA));
  from_ranking.add_ranking(kRankingA, kTargetsA);
  check_close(from_scores.result().precision, from_ranking.result().precision);
  check_close(from_scores.result().recall, from_ranking.result().recall);
  CHECK(from_scores.result().map == Approx(37.0 / 90).margin(1e-12));

  // a target the user had in training (13) is never hit but counts in |targets|:
  // targets {3, 13}: 3 at rank 1, AP = (1/2) / 2, R@5 = 1/2
  RankingEvaluator with_seen_target;
  with_seen_target.add_scores(scores.data(), 15, {13, 14}, {3, 13});
  CHECK(with_seen_target.result().map == Approx(0.25));
  CHECK(with_seen_target.result().recall[1] == Approx(0.5));

  CHECK_THROWS_WITH(from_scores.add_scores(scores.data(), 15, {}, {15}), Contains("target item 15 is outside 1..14"));
  CHECK_THROWS_WITH(from_scores.add_scores(scores.data(), 15, {}, {0}), Contains("target item 0 is outside 1..14"));
}

TEST_CASE("equal scores rank by lower item id and NaN ranks last", "[ranking_metrics]") {
  // 5 items, all 0: ranking 1, 2, 3, 4, 5; target 2 at rank 1 -> AP 1/2
  const std::vector<float> flat(6, 0.0f);
  RankingEvaluator ties;
  ties.add_scores(flat.data(), 6, {}, {2});
  CHECK(ties.result().map == Approx(0.5));
  CHECK(ties.result().precision[0] == 0.0);
  // item 1 NaN, the rest 0: ranking 2, 3, 4, 5, 1; target 1 at rank 4 -> AP 1/5
  std::vector<float> nan = flat;
  nan[1] = std::numeric_limits<float>::quiet_NaN();
  RankingEvaluator last;
  last.add_scores(nan.data(), 6, {}, {1});
  CHECK(last.result().map == Approx(0.2));
}

TEST_CASE("rank counting from scores agrees with sorting, on random scores with many ties", "[ranking_metrics]") {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 200; ++trial) {
    const int64_t num_items = 2 + int64_t(rng() % 40);
    std::vector<float> scores(static_cast<size_t>(num_items));
    for (float& s : scores) s = float(rng() % 6);  // few values: many ties
    if (rng() % 3 == 0) scores[size_t(rng() % uint64_t(num_items))] = std::numeric_limits<float>::quiet_NaN();
    std::vector<int64_t> excluded, targets;
    for (int64_t i = 1; i < num_items; ++i) {
      if (rng() % 4 == 0) excluded.push_back(i);
      if (rng() % 5 == 0) targets.push_back(i);
    }
    if (targets.empty()) targets.push_back(1 + int64_t(rng() % uint64_t(num_items - 1)));
    // the reference: sort the candidates (higher first, NaN last, ties by id)
    std::vector<int64_t> ranking;
    for (int64_t i = 1; i < num_items; ++i)
      if (std::find(excluded.begin(), excluded.end(), i) == excluded.end()) ranking.push_back(i);
    std::sort(ranking.begin(), ranking.end(), [&](int64_t a, int64_t b) {
      const float sa = scores[size_t(a)], sb = scores[size_t(b)];
      if (std::isnan(sa) != std::isnan(sb)) return std::isnan(sb);
      if (!std::isnan(sa) && sa != sb) return sa > sb;
      return a < b;
    });
    RankingEvaluator fast({1, 3, 7}), sorted({1, 3, 7});
    fast.add_scores(scores.data(), num_items, excluded, targets);
    sorted.add_ranking(ranking, targets);
    INFO("trial " << trial << ", " << num_items << " items");
    check_close(fast.result().precision, sorted.result().precision);
    check_close(fast.result().recall, sorted.result().recall);
    CHECK(fast.result().map == Approx(sorted.result().map).margin(1e-12));
  }
}

TEST_CASE("a batch of score rows is evaluated per user with its own exclusions and targets", "[ranking_metrics]") {
  // users 0, 1, 2 over items 0..4; user 1 has no targets
  const std::vector<std::vector<int64_t>> excluded = {{1}, {}, {2, 3}};
  const std::vector<std::vector<int64_t>> targets = {{2, 4}, {}, {1}};
  const std::vector<double> rows = {9, 1, 2, 3, 4,   // user 2: ranking 4, 1 (2, 3 excluded)
                                    0, 4, 3, 2, 1,   // user 0: ranking 2, 3, 4 (1 excluded)
                                    0, 0, 0, 0, 0};  // user 1: skipped
  const Tensor scores = from_vector(rows, Shape{3, 5});
  RankingEvaluator batch;
  CHECK(batch.add_scores(scores, {2, 0, 1}, excluded, targets) == 2);
  // user 2: target 1 at rank 1: AP 1/2. user 0: targets 4 (rank 0), 2 (rank 2):
  // AP = (1 + 2/3) / 2 = 5/6. MAP = (1/2 + 5/6) / 2 = 2/3
  CHECK(batch.result().map == Approx(2.0 / 3));
  CHECK(batch.result().users == 2);
  // float32 rows give the same
  RankingEvaluator f32;
  f32.add_scores(scores.to(kFloat32), {2, 0, 1}, excluded, targets);
  CHECK(f32.result().map == Approx(2.0 / 3));

  CHECK_THROWS_WITH(batch.add_scores(scores, {0, 1}, excluded, targets), Contains("scores must be [users (2), num_items]"));
  CHECK_THROWS_WITH(batch.add_scores(scores, {0, 1, 3}, excluded, targets), Contains("user 3 has no exclusion set"));
  CHECK_THROWS_WITH(batch.add_scores(scores.to(kInt64), {0, 1, 2}, excluded, targets),
                    Contains("scores must be float32 or float64"));
  CHECK_THROWS_WITH(RankingEvaluator({1, 0}), Contains("every cut-off k must be >= 1, got 0"));
  CHECK_THROWS_WITH(user_ranking_metrics({1}, {}), Contains("a user needs at least one target"));
}
