// tests/test_sequential_recommendation.cpp: cold-start filter, time order
// and dense ids, the per-user split, CosRec's windows and test sequences,
// negative sampling and minibatches (datasets/sequential_recommendation.h),
// each on a set small enough that the expected answer was worked out by
// hand. The windows are checked against what CosRec's interactions.py
// really yields (its _sliding_window walks from the end backwards), not
// against its docstring, which shows T = 2 in the forward order.
#include <map>
#include <set>

#include "datasets/sequential_recommendation.h"
#include "test_util.h"

using namespace nova;
using namespace nova::datasets;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

using Lists = std::vector<std::vector<int64_t>>;

// rows of a flat [n, width] array
Lists rows(const std::vector<int64_t>& flat, int64_t width) {
  Lists out;
  for (size_t i = 0; i < flat.size(); i += size_t(width))
    out.emplace_back(flat.begin() + static_cast<std::ptrdiff_t>(i), flat.begin() + static_cast<std::ptrdiff_t>(i + size_t(width)));
  return out;
}

}  // namespace

TEST_CASE("cold-start filtering repeats until every kept user and item has enough interactions",
          "[sequential_recommendation]") {
  // users 1, 2, 3; items 10..13. With a minimum of 2: item 13 (1 record)
  // goes, which leaves user 3 with 1, so user 3 goes, which leaves item 12
  // with 1, so item 12 goes; users 1 and 2 keep items 10 and 11.
  const std::vector<Interaction> records = {{1, 10, 0}, {1, 11, 1}, {1, 12, 2}, {2, 10, 3},
                                            {2, 11, 4}, {3, 12, 5}, {3, 13, 6}};
  CHECK(filter_cold_start(records, 2, 2) ==
        std::vector<Interaction>{{1, 10, 0}, {1, 11, 1}, {2, 10, 3}, {2, 11, 4}});
  // one pass: only the record of item 13 is under a minimum
  CHECK(filter_cold_start(records, 2, 2, false) ==
        std::vector<Interaction>{{1, 10, 0}, {1, 11, 1}, {1, 12, 2}, {2, 10, 3}, {2, 11, 4}, {3, 12, 5}});
  // separate minimums: users need 3, items 1 -> only user 1 is left
  CHECK(filter_cold_start(records, 3, 1) == std::vector<Interaction>{{1, 10, 0}, {1, 11, 1}, {1, 12, 2}});
  CHECK(filter_cold_start(records, 0, 0) == records);
  CHECK_THROWS_WITH(filter_cold_start(records, -1, 2), Contains("filter_cold_start: the minimum interaction counts"));
}

TEST_CASE("histories are in time order, equal times in input order, with dense ids by first appearance",
          "[sequential_recommendation]") {
  // user 50 appears first, so it is user 0; its records out of time order,
  // two at time 7 (item 300 before item 100 in the input)
  const std::vector<Interaction> records = {{50, 200, 9}, {8, 100, 1}, {50, 300, 7},
                                            {50, 100, 7}, {8, 400, 0}, {50, 200, 3}};
  const UserHistories h = group_by_user(records);
  CHECK(h.user_ids == std::vector<int64_t>{50, 8});
  // user 50 by time: 200 (3), 300 (7), 100 (7), 200 (9); user 8: 400 (0), 100 (1)
  // items numbered in that walk: 200 -> 1, 300 -> 2, 100 -> 3, 400 -> 4
  CHECK(h.items == Lists{{1, 2, 3, 1}, {4, 3}});
  CHECK(h.item_ids == std::vector<int64_t>{-1, 200, 300, 100, 400});
  CHECK(h.num_items == 5);
  CHECK(h.num_users() == 2);
}

TEST_CASE("the per-user split keeps 70/10/20 by time, cut points rounded half up", "[sequential_recommendation]") {
  UserHistories h;
  h.num_items = 11;
  h.items = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {1, 2, 3, 4, 5, 6, 7}, {5, 4, 3, 2, 1}, {9, 8}, {7}, {}};
  h.user_ids = {0, 1, 2, 3, 4, 5};
  SequentialDataOptions apart;
  apart.merge_validation = false;
  const SequentialSplit s = split_histories(h, apart);
  // n = 10: 7 | 1 | 2;  n = 7: round(4.9) = 5, round(5.6) = 6 -> 5 | 1 | 1;
  // n = 5: round(3.5) = 4, round(4.0) = 4 -> 4 | 0 | 1;  n = 2: 1 | 1 | 0;
  // n = 1: round(0.7) = 1 -> 1 | 0 | 0
  CHECK(s.train == Lists{{1, 2, 3, 4, 5, 6, 7}, {1, 2, 3, 4, 5}, {5, 4, 3, 2}, {9}, {7}, {}});
  CHECK(s.validation == Lists{{8}, {6}, {}, {8}, {}, {}});
  CHECK(s.test == Lists{{9, 10}, {7}, {1}, {}, {}, {}});
  CHECK(s.num_users == 6);
  CHECK(s.num_items == 11);

  // CosRec's train file: validation merged
  const SequentialSplit merged = split_histories(h);
  CHECK(merged.train == Lists{{1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 3, 4, 5, 6}, {5, 4, 3, 2}, {9, 8}, {7}, {}});
  CHECK(merged.validation == Lists(6));
  CHECK(merged.test == s.test);

  SequentialDataOptions bad;
  bad.train_percent = 95;
  CHECK_THROWS_WITH(split_histories(h, bad), Contains("their sum <= 100, got 95 and 10"));
  h.items[0][0] = 11;
  CHECK_THROWS_WITH(split_histories(h), Contains("user 0 has item 11, outside 1..10"));
}

TEST_CASE("prepare_sequential_data filters, orders and splits ratings as Caser did", "[sequential_recommendation]") {
  // user 7: 10 ratings of items 1..10 (item k at time 100 - k, so time order
  // is 10, 9, ..., 1); user 3: 5 ratings of items 1..5 at times 0..4;
  // user 9: one rating, of item 99 (both fall under 2 and go)
  std::vector<Interaction> records;
  for (int64_t k = 1; k <= 10; ++k) records.push_back({7, k, 100 - k});
  for (int64_t k = 1; k <= 5; ++k) records.push_back({3, k, k - 1});
  records.push_back({9, 99, 0});
  SequentialDataOptions o;
  o.min_user_interactions = o.min_item_interactions = 2;
  const SequentialSplit s = prepare_sequential_data(records, o);
  CHECK(s.user_ids == std::vector<int64_t>{7, 3});
  // items 6..10 and 99 had one rating each and went; user 7's time order
  // is 5, 4, 3, 2, 1, so that is the numbering of the items
  CHECK(s.item_ids == std::vector<int64_t>{-1, 5, 4, 3, 2, 1});
  CHECK(s.train == Lists{{1, 2, 3, 4}, {5, 4, 3, 2}});
  CHECK(s.test == Lists{{5}, {1}});

  o.min_user_interactions = 20;
  CHECK_THROWS_WITH(prepare_sequential_data(records, o),
                    Equals("prepare_sequential_data: no record left of 16 after removing users with fewer than 20 and "
                           "items with fewer than 2 interactions; lower the minimums for a small dataset"));
}

TEST_CASE("training windows are CosRec's: items 1..9, L 5, T 3 give [2..6]->[7,8,9] then [1..5]->[6,7,8]",
          "[sequential_recommendation]") {
  const Lists train = {{1, 2, 3, 4, 5, 6, 7, 8, 9}};
  const SequenceWindows w = make_sequence_windows(train, 5, 3);
  CHECK(w.L == 5);
  CHECK(w.T == 3);
  CHECK(w.size() == 2);
  CHECK(w.users == std::vector<int64_t>{0, 0});
  CHECK(rows(w.sequences, 5) == Lists{{2, 3, 4, 5, 6}, {1, 2, 3, 4, 5}});
  CHECK(rows(w.targets, 3) == Lists{{7, 8, 9}, {6, 7, 8}});
  // the test sequence: the last L training items
  CHECK(make_test_sequences(train, 5) == std::vector<int64_t>{5, 6, 7, 8, 9});

  // T = 2: the docstring's three windows, in the order the code yields them
  const SequenceWindows w2 = make_sequence_windows(train, 5, 2);
  CHECK(rows(w2.sequences, 5) == Lists{{3, 4, 5, 6, 7}, {2, 3, 4, 5, 6}, {1, 2, 3, 4, 5}});
  CHECK(rows(w2.targets, 2) == Lists{{8, 9}, {7, 8}, {6, 7}});
}

TEST_CASE("a history shorter than L + T gives one left-padded window and a padded test sequence",
          "[sequential_recommendation]") {
  // user 0: 3 items (<= T: the sequence is all padding, as in CosRec);
  // user 1: 6 items; user 2: none (no window); user 3: exactly L + T = 8
  const Lists train = {{4, 7, 9}, {1, 2, 3, 4, 5, 6}, {}, {8, 7, 6, 5, 4, 3, 2, 1}};
  const SequenceWindows w = make_sequence_windows(train, 5, 3);
  CHECK(w.users == std::vector<int64_t>{0, 1, 3});
  CHECK(rows(w.sequences, 5) == Lists{{0, 0, 0, 0, 0}, {0, 0, 1, 2, 3}, {8, 7, 6, 5, 4}});
  CHECK(rows(w.targets, 3) == Lists{{4, 7, 9}, {4, 5, 6}, {3, 2, 1}});
  CHECK(rows(make_test_sequences(train, 5), 5) ==
        Lists{{0, 0, 4, 7, 9}, {2, 3, 4, 5, 6}, {0, 0, 0, 0, 0}, {5, 4, 3, 2, 1}});
  CHECK_THROWS_WITH(make_sequence_windows(train, 0, 3), Contains("need L >= 1 and T >= 1, got L 0 and T 3"));
  CHECK_THROWS_WITH(make_test_sequences(train, 0), Contains("need L >= 1, got 0"));
}

TEST_CASE("negatives are never the user's training items nor padding, and are uniform over the rest",
          "[sequential_recommendation]") {
  // items 1..7. User 0 had 3 of them (drawn by retrying), user 1 had 6
  // (more than half: drawn from the list of the rest), user 2 had all 7.
  const Lists train = {{3, 1, 2, 3}, {1, 2, 3, 4, 5, 6}, {1, 2, 3, 4, 5, 6, 7}};
  const NegativeSampler sampler(train, 8);
  CHECK(sampler.seen(0) == std::vector<int64_t>{1, 2, 3});
  std::mt19937_64 rng(11);
  const int64_t n = 4000;
  const std::vector<int64_t> users = {0, 1, 0};
  const std::vector<int64_t> drawn = sampler.sample(users, n, rng);
  REQUIRE(drawn.size() == size_t(3 * n));
  std::map<int64_t, int64_t> counts0;
  for (size_t row : {size_t(0), size_t(2)}) {
    for (int64_t j = 0; j < n; ++j) {
      const int64_t item = drawn[row * size_t(n) + size_t(j)];
      REQUIRE(item >= 4);
      REQUIRE(item <= 7);
      ++counts0[item];
    }
  }
  // 8000 draws over 4 items: 2000 each, sd ~39; 10% is over 5 sd
  for (int64_t item = 4; item <= 7; ++item) {
    INFO("item " << item);
    CHECK(std::abs(counts0[item] - 2000) < 200);
  }
  for (int64_t j = 0; j < n; ++j) REQUIRE(drawn[size_t(n + j)] == 7);
  // the same seed, the same draws
  std::mt19937_64 again(11);
  CHECK(sampler.sample(users, n, again) == drawn);
  CHECK_THROWS_WITH(sampler.sample({2}, 1, rng), Contains("user 2 had all 7 items in training"));
  CHECK(sampler.sample({2}, 0, rng).empty());
  CHECK_THROWS_WITH(sampler.sample({3}, 1, rng), Contains("user 3 outside 0..2"));
  CHECK_THROWS_WITH(NegativeSampler(train, 7), Contains("user 2 has item 7, outside 1..6"));
}

TEST_CASE("uniform_below and shuffled_order give the same numbers for a seed in every build",
          "[sequential_recommendation]") {
  // std::mt19937_64's output is fixed by the C++ standard and these two use
  // no library distribution, so the values are pinned here
  std::mt19937_64 rng(5);
  std::vector<uint64_t> draws;
  for (int i = 0; i < 6; ++i) draws.push_back(uniform_below(rng, 10));
  std::mt19937_64 rng2(5);
  const std::vector<int64_t> order = shuffled_order(8, rng2);
  CHECK(std::set<int64_t>(order.begin(), order.end()) == std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK(draws == std::vector<uint64_t>{2, 8, 0, 8, 4, 7});
  CHECK(order == std::vector<int64_t>{4, 1, 7, 0, 3, 2, 5, 6});
  // rough uniformity of a range that does not divide 2^64
  std::vector<int64_t> counts(3, 0);
  for (int i = 0; i < 30000; ++i) ++counts[uniform_below(rng, 3)];
  for (int64_t c : counts) CHECK(std::abs(c - 10000) < 500);
  CHECK_THROWS_WITH(uniform_below(rng, 0), Contains("n must be >= 1"));
}

TEST_CASE("make_batch gathers windows in the given order as int64 tensors [b], [b, L], [b, T], [b, n]",
          "[sequential_recommendation]") {
  const Lists train = {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {9, 8}};
  const SequenceWindows w = make_sequence_windows(train, 5, 3);  // rows: user 0 x2, user 1
  const NegativeSampler sampler(train, 12);
  const std::vector<int64_t> order = {2, 0, 1};
  std::mt19937_64 rng(3);
  const RecommendationBatch b = make_batch(w, order, 0, 2, sampler, 4, rng);
  CHECK(b.users.dtype() == kInt64);
  CHECK(b.sequences.dtype() == kInt64);
  CHECK(b.users.shape() == Shape{2});
  CHECK(b.sequences.shape() == Shape{2, 5});
  CHECK(b.targets.shape() == Shape{2, 3});
  CHECK(b.negatives.shape() == Shape{2, 4});
  CHECK(b.users.to_vector<int64_t>() == std::vector<int64_t>{1, 0});
  CHECK(b.sequences.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 0, 0, 2, 3, 4, 5, 6});
  CHECK(b.targets.to_vector<int64_t>() == std::vector<int64_t>{0, 9, 8, 7, 8, 9});
  const std::vector<int64_t> neg = b.negatives.to_vector<int64_t>();
  for (int j = 0; j < 4; ++j) {
    CHECK((neg[size_t(j)] >= 1 && neg[size_t(j)] <= 11 && neg[size_t(j)] != 8 && neg[size_t(j)] != 9));
    CHECK(neg[size_t(4 + j)] >= 10);  // user 0 had 1..9
  }
  CHECK_THROWS_WITH(make_batch(w, order, 2, 2, sampler, 4, rng), Contains("need 0 <= begin < end <= order.size() (3)"));
  CHECK_THROWS_WITH(make_batch(w, {0, 5}, 0, 2, sampler, 4, rng), Contains("order[1] = 5 is not a window (0..2)"));
}

TEST_CASE("training item sets are sorted and without repeats", "[sequential_recommendation]") {
  CHECK(training_item_sets({{5, 1, 5, 3}, {}, {2, 2}}) == Lists{{1, 3, 5}, {}, {2}});
}
