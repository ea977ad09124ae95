// tests/test_synthetic_interactions.cpp: the synthetic sequential data
// (datasets/synthetic_interactions.h): deterministic for a seed, shaped as
// documented, and carrying its planted pair rule, which the last item alone
// and popularity cannot see. The last case runs the whole pipeline a
// trainer runs (split, test sequences, metrics) with two hand-made scorers:
// one that follows the rule must beat popularity by a wide margin, or the
// data could not tell a sequence model from a popularity baseline.
#include <map>
#include <set>

#include "datasets/ranking_metrics.h"
#include "datasets/synthetic_interactions.h"
#include "test_util.h"

using namespace nova;
using namespace nova::datasets;
using Catch::Matchers::Contains;

namespace {

SyntheticInteractionOptions small() {
  SyntheticInteractionOptions o;
  o.users = 300;
  o.items = 400;
  o.themes = 10;
  o.seed = 4;
  return o;
}

}  // namespace

TEST_CASE("synthetic interactions are the same for a seed and differ between seeds", "[synthetic_interactions]") {
  const SyntheticInteractions a = synthetic_interactions(small()), b = synthetic_interactions(small());
  CHECK(a.histories.items == b.histories.items);
  CHECK(a.theme == b.theme);
  CHECK(a.weight == b.weight);
  SyntheticInteractionOptions other = small();
  other.seed = 5;
  CHECK(synthetic_interactions(other).histories.items != a.histories.items);
}

TEST_CASE("synthetic interactions have the documented shape: lengths, ids, themes, weights, no repeats",
          "[synthetic_interactions]") {
  const SyntheticInteractionOptions o = small();
  const SyntheticInteractions d = synthetic_interactions(o);
  const UserHistories& h = d.histories;
  REQUIRE(h.num_users() == o.users);
  CHECK(h.num_items == o.items + 1);
  CHECK(h.user_ids.size() == size_t(o.users));
  CHECK(h.item_ids.size() == size_t(o.items + 1));
  CHECK(h.item_ids[0] == -1);
  CHECK(h.item_ids[7] == 7);
  // a user repeats an item only once it has had its whole theme (a step
  // d = 0 keeps one theme until a background draw: it happens)
  std::map<int64_t, int64_t> theme_size;
  for (int64_t item = 1; item <= o.items; ++item) ++theme_size[d.theme[size_t(item)]];
  int64_t repeats = 0;
  for (const std::vector<int64_t>& seq : h.items) {
    REQUIRE(int64_t(seq.size()) >= o.min_length);
    REQUIRE(int64_t(seq.size()) <= o.max_length);
    std::set<int64_t> had;
    for (int64_t item : seq) {
      REQUIRE((item >= 1 && item <= o.items));
      if (!had.insert(item).second) {
        ++repeats;
        const int64_t theme = d.theme[size_t(item)];
        REQUIRE(std::count_if(had.begin(), had.end(), [&](int64_t i) { return d.theme[size_t(i)] == theme; }) ==
                theme_size[theme]);
      }
    }
  }
  CHECK(repeats < 10);  // of 12,000 interactions
  // 40 items in each of the 10 themes, weights summing to 1 in each, falling
  // as 1, 1/2, 1/3, ... (s = 1)
  std::map<int64_t, std::vector<double>> by_theme;
  for (int64_t item = 1; item <= o.items; ++item) by_theme[d.theme[size_t(item)]].push_back(d.weight[size_t(item)]);
  REQUIRE(by_theme.size() == 10);
  for (auto& [theme, weights] : by_theme) {
    INFO("theme " << theme);
    CHECK(weights.size() == 40);
    double sum = 0;
    for (double w : weights) sum += w;
    CHECK(sum == Approx(1.0));
    std::sort(weights.rbegin(), weights.rend());
    CHECK(weights[0] / weights[1] == Approx(2.0));
    CHECK(weights[0] / weights[39] == Approx(40.0));
  }
  CHECK(d.theme[0] == -1);
  CHECK(d.weight[0] == 0.0);
}

TEST_CASE("the next theme is predictable from the last two items, not from the last one or popularity",
          "[synthetic_interactions]") {
  const SyntheticInteractionOptions o;  // the defaults the trainer uses
  const SyntheticInteractions d = synthetic_interactions(o);
  const auto& users = d.histories.items;
  const size_t half = users.size() / 2;
  // the best single-item predictor: the most frequent next theme after each
  // theme, learned on the first half of the users, scored on the second
  std::vector<std::vector<int64_t>> follows(size_t(o.themes), std::vector<int64_t>(size_t(o.themes), 0));
  std::vector<int64_t> theme_count(size_t(o.themes), 0);
  for (size_t u = 0; u < half; ++u)
    for (size_t t = 1; t < users[u].size(); ++t) {
      ++follows[size_t(d.theme[size_t(users[u][t - 1])])][size_t(d.theme[size_t(users[u][t])])];
      ++theme_count[size_t(d.theme[size_t(users[u][t])])];
    }
  const auto argmax = [](const std::vector<int64_t>& v) { return int64_t(std::max_element(v.begin(), v.end()) - v.begin()); };
  const int64_t popular_theme = argmax(theme_count);
  int64_t steps = 0, by_pair = 0, by_last = 0, by_popularity = 0;
  for (size_t u = half; u < users.size(); ++u)
    for (size_t t = 2; t < users[u].size(); ++t) {
      const int64_t truth = d.theme[size_t(users[u][t])];
      ++steps;
      by_pair += synthetic_next_theme(d, users[u][t - 2], users[u][t - 1]) == truth;
      by_last += argmax(follows[size_t(d.theme[size_t(users[u][t - 1])])]) == truth;
      by_popularity += popular_theme == truth;
    }
  const double pair = double(by_pair) / double(steps), last = double(by_last) / double(steps),
               popularity = double(by_popularity) / double(steps);
  INFO("next theme right: pair rule " << pair << ", last item " << last << ", popularity " << popularity);
  // (1 - noise) + noise / M = 0.9025 for the pair; 1/M = 0.025 for the others
  CHECK(pair == Approx(0.9025).margin(0.01));
  CHECK(last < 0.04);
  CHECK(popularity < 0.04);
}

TEST_CASE("through split, test sequences and metrics, following the pair rule beats popularity many times over",
          "[synthetic_interactions]") {
  const SyntheticInteractions d = synthetic_interactions();
  const SequentialSplit s = split_histories(d.histories);  // 70/10/20, validation merged
  const int64_t L = 5, I = s.num_items, M = d.themes;
  const std::vector<int64_t> test_seq = make_test_sequences(s.train, L);
  const std::vector<std::vector<int64_t>> seen = training_item_sets(s.train);

  std::vector<float> popularity(size_t(I), 0.0f);
  for (const auto& train : s.train)
    for (int64_t item : train) popularity[size_t(item)] += 1;

  RankingEvaluator rule_eval, popularity_eval;
  std::vector<float> scores(static_cast<size_t>(I));
  for (int64_t u = 0; u < s.num_users; ++u) {
    // the rule continues the themes of the last two training items with step
    // d; the k-th next theme gets weight 0.8^k, an item its theme's weight
    // times its popularity within the theme
    const int64_t a = test_seq[size_t(u * L + L - 2)], b = test_seq[size_t(u * L + L - 1)];
    const int64_t step = ((d.theme[size_t(b)] - d.theme[size_t(a)]) % M + M) % M;
    std::vector<double> theme_weight(size_t(M), 0.0);
    double w = 1.0;
    for (int64_t k = 1; k <= 8; ++k) {
      w *= 0.8;
      double& tw = theme_weight[size_t((d.theme[size_t(b)] + k * step) % M)];
      tw = std::max(tw, w);
    }
    for (int64_t item = 1; item < I; ++item)
      scores[size_t(item)] = float(theme_weight[size_t(d.theme[size_t(item)])] * d.weight[size_t(item)]);
    rule_eval.add_scores(scores.data(), I, seen[size_t(u)], s.test[size_t(u)]);
    popularity_eval.add_scores(popularity.data(), I, seen[size_t(u)], s.test[size_t(u)]);
  }
  const RankingMetrics rule = rule_eval.result(), pop = popularity_eval.result();
  INFO("pair rule: " << rule.summary());
  INFO("popularity: " << pop.summary());
  CHECK(rule.users == s.num_users);
  CHECK(rule.map > 3 * pop.map);
  CHECK(rule.precision[2] > 3 * pop.precision[2]);  // P@10
}

TEST_CASE("synthetic_interactions refuses options it cannot honour", "[synthetic_interactions]") {
  SyntheticInteractionOptions o;
  o.items = 10;
  o.themes = 11;
  CHECK_THROWS_WITH(synthetic_interactions(o), Contains("need themes >= 1 and items >= themes, got 10 items, 11 themes"));
  o = {};
  o.min_length = 1;
  CHECK_THROWS_WITH(synthetic_interactions(o), Contains("need 2 <= min_length <= max_length, got 1 and 60"));
  o = {};
  o.noise = 1.5;
  CHECK_THROWS_WITH(synthetic_interactions(o), Contains("noise must be in [0, 1], got 1.5"));
  CHECK_THROWS_WITH(synthetic_next_theme(synthetic_interactions(small()), 0, 3), Contains("items must be in 1..400"));
}
