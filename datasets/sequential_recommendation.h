// datasets/sequential_recommendation.h: from (user, item, time) records to
// what a sequential recommender (Caser, CosRec, SCosRec: thesis section 4.1)
// trains and is evaluated on, following Caser (Tang & Wang, WSDM 2018) and
// CosRec's code (github zzxslp/CosRec, interactions.py and train.py):
//
// 1. Cold start. Users and items with fewer than n interactions are removed
//    (Caser 4.1: "removed cold-start users and items of having less than n
//    feedbacks"), n = 5 for MovieLens-1M and 15 for Gowalla, the values we
//    recall from Caser's text; its paper could not be re-read when this was
//    written, so they are options (SequentialDataOptions::movielens_1m(),
//    ::gowalla()), not constants. Removing an item can leave a user under n
//    (and the other way round), so by default both filters repeat until
//    nothing changes: every kept user and item then has >= n interactions.
//    Ratings are implicit feedback: every record counts, repeats included.
// 2. Order and ids. Each user's records are sorted by time; equal times
//    keep their order in the input (a stable sort), so the result depends
//    on nothing but the input. Users get dense ids 0..U-1 in order of first
//    appearance in the input; items get 1..I in order of first appearance
//    in the time-ordered histories, user 0 first; item 0 is the padding of
//    short sequences, so num_items = I + 1 is the size of an item embedding
//    table (CosRec's num_items). CosRec numbers items by first appearance
//    in its train file, then its test file: another labelling of the same
//    data.
// 3. Split, per user by time (Caser 4.1): the first 70% train, the next
//    10% validation, the last 20% test. Cut points round half up:
//    train = round(0.7 n), train + validation = round(0.8 n), computed in
//    integers (n = 10: 7/1/2, n = 7: 5/1/1, n = 5: 4/0/1, n = 2: 1/1/0).
//    CosRec's train file is Caser's train + validation (80%): by default
//    the validation part is merged into train; merge_validation = false
//    keeps it apart for model selection.
// 4. Training windows (CosRec's Interactions.to_sequence(L, T)): for a user
//    with training items s_1..s_n and m = L + T,
//      n >= m: the n - m + 1 windows s[i-m+1..i] for i = n, n-1, ..., m,
//              i.e. from the END backwards, as CosRec's _sliding_window
//              yields them; sequence = first L of the window, targets = last T;
//      n < m:  one window, s left-padded with 0 to length m (so a user with
//              n <= T items has an all-padding sequence, as in CosRec).
//    Items 1..9, L = 5, T = 3 give sequences [2..6], [1..5] with targets
//    [7, 8, 9], [6, 7, 8], in that order (CosRec's docstring shows T = 2,
//    in the forward order; its code gives this). Users come in id order.
// 5. Test sequence of a user: its last L training items, left-padded with 0
//    (the last L of its first window, as CosRec takes it).
// 6. Negatives (CosRec's _generate_negative_samples): for every training
//    window, n items drawn independently and uniformly from the items the
//    user never had in training (1..I minus its training items; never 0).
//
// Randomness comes from a std::mt19937_64 the caller seeds; draws in a range
// and shuffles use this file's own algorithms (uniform_below), not the
// standard library's distributions, whose algorithms differ between
// libstdc++ and libc++: a seed gives the same numbers in every build.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "core/tensor.h"
#include "datasets/interaction_files.h"

namespace nova::datasets {

/// How records become a split dataset (steps 1 to 3 of the file header).
struct SequentialDataOptions {
  int64_t min_user_interactions = 5;  ///< users with fewer are removed
  int64_t min_item_interactions = 5;  ///< items with fewer are removed
  bool filter_until_stable = true;    ///< repeat both filters until nothing changes
  int64_t train_percent = 70;         ///< first part of each user's history
  int64_t validation_percent = 10;    ///< next part; the test part is the rest
  bool merge_validation = true;       ///< validation joins train, as in CosRec

  /// Caser's MovieLens-1M preprocessing: n = 5 for users and items.
  static SequentialDataOptions movielens_1m() { return {}; }
  /// Caser's Gowalla preprocessing: n = 15 for users and items.
  static SequentialDataOptions gowalla() {
    SequentialDataOptions o;
    o.min_user_interactions = o.min_item_interactions = 15;
    return o;
  }
};

/// The records whose user has >= min_user and whose item has >= min_item
/// interactions among the records kept, in input order. With until_stable
/// the two filters repeat until neither removes anything; without, each
/// count is taken once over the input and both filters apply together.
/// Throws nova::Error when a minimum is negative.
std::vector<Interaction> filter_cold_start(const std::vector<Interaction>& records, int64_t min_user,
                                           int64_t min_item, bool until_stable = true);

/// Every user's items in time order, renumbered densely (step 2).
struct UserHistories {
  std::vector<std::vector<int64_t>> items;  ///< [num_users()][n_u] item ids 1..num_items-1
  int64_t num_items = 1;                    ///< item ids are < num_items; 0 is padding
  std::vector<int64_t> user_ids;            ///< [num_users()] the file's id of each user
  std::vector<int64_t> item_ids;            ///< [num_items] the file's id of each item; [0] = -1

  int64_t num_users() const { return static_cast<int64_t>(items.size()); }
};

/// Groups records by user, sorts each user's records by time (stable) and
/// renumbers users and items as step 2 of the header says.
UserHistories group_by_user(const std::vector<Interaction>& records);

/// Each user's history cut by time into train, validation and test (step 3).
struct SequentialSplit {
  int64_t num_users = 0;
  int64_t num_items = 1;                          ///< item ids are < num_items; 0 is padding
  std::vector<std::vector<int64_t>> train;       ///< [num_users] time order; validation included when merged
  std::vector<std::vector<int64_t>> validation;  ///< [num_users] time order; all empty when merged
  std::vector<std::vector<int64_t>> test;        ///< [num_users] time order
  std::vector<int64_t> user_ids;                 ///< [num_users] the file's id of each user
  std::vector<int64_t> item_ids;                 ///< [num_items] the file's id of each item; [0] = -1
};

/// Splits every history by the percentages of `options` (its cold-start
/// fields are not used here). Throws nova::Error unless 0 <= train_percent,
/// 0 <= validation_percent and their sum <= 100, or when an item id is
/// outside 1..num_items-1.
SequentialSplit split_histories(const UserHistories& histories, const SequentialDataOptions& options = {});

/// filter_cold_start, group_by_user and split_histories in a row: the whole
/// of steps 1 to 3. Throws nova::Error when no record survives the filter.
SequentialSplit prepare_sequential_data(const std::vector<Interaction>& records,
                                        const SequentialDataOptions& options = {});

/// Training windows (step 4), flat and row-major.
struct SequenceWindows {
  int64_t L = 0;                   ///< items a model sees
  int64_t T = 0;                   ///< items it must predict
  std::vector<int64_t> users;      ///< [n] the user of each window
  std::vector<int64_t> sequences;  ///< [n, L] item ids, 0 = padding
  std::vector<int64_t> targets;    ///< [n, T] item ids, 0 = padding

  int64_t size() const { return static_cast<int64_t>(users.size()); }
};

/// The windows of every user's training items (train[u], u in id order), as
/// step 4 says. Throws nova::Error unless L >= 1 and T >= 1. A user with no
/// training items has no window.
SequenceWindows make_sequence_windows(const std::vector<std::vector<int64_t>>& train, int64_t L, int64_t T);

/// [train.size(), L] row-major: each user's last L training items,
/// left-padded with 0 (step 5). Throws nova::Error unless L >= 1.
std::vector<int64_t> make_test_sequences(const std::vector<std::vector<int64_t>>& train, int64_t L);

/// Each user's training items, sorted and without repeats: what evaluation
/// excludes from the ranking and negative sampling avoids.
std::vector<std::vector<int64_t>> training_item_sets(const std::vector<std::vector<int64_t>>& train);

/// A number uniform in [0, n) from rng, exactly (the biased top of the
/// 64-bit range is rejected), the same in every build. Throws unless n >= 1.
uint64_t uniform_below(std::mt19937_64& rng, uint64_t n);

/// A uniformly random permutation of 0..n-1 (Fisher-Yates with
/// uniform_below): the order of one epoch's windows.
std::vector<int64_t> shuffled_order(int64_t n, std::mt19937_64& rng);

/// Draws negatives (step 6). Built once from the training items; a draw
/// takes a uniform item in 1..num_items-1 and retries while the user had
/// it, which stays cheap because such a user had at most half of the items;
/// for a user who had more, it picks from a stored list of the items left
/// (kept only for those users, so memory stays O(interactions)). Both give
/// exactly the uniform distribution over the items the user never had.
class NegativeSampler {
 public:
  /// Throws nova::Error when num_items < 2 or an item is outside 1..num_items-1.
  NegativeSampler(const std::vector<std::vector<int64_t>>& train, int64_t num_items);

  /// [users.size(), n] row-major: n negatives for each of `users`, drawn in
  /// row order from rng. Throws nova::Error for n < 0, a user outside the
  /// training set, or a user who had every item (nothing to draw).
  std::vector<int64_t> sample(const std::vector<int64_t>& users, int64_t n, std::mt19937_64& rng) const;

  /// The user's training items, sorted, no repeats.
  const std::vector<int64_t>& seen(int64_t user) const;
  int64_t num_items() const { return num_items_; }
  int64_t num_users() const { return static_cast<int64_t>(seen_.size()); }

 private:
  int64_t num_items_;
  std::vector<std::vector<int64_t>> seen_;        // [user] sorted training items
  std::vector<std::vector<int64_t>> candidates_;  // [user] unseen items, only for heavy users
};

/// One minibatch as the model takes it; every tensor int64 on the CPU.
struct RecommendationBatch {
  Tensor users;      ///< [b]
  Tensor sequences;  ///< [b, L]
  Tensor targets;    ///< [b, T]
  Tensor negatives;  ///< [b, n]
};

/// The windows order[begin..end) with n fresh negatives each (drawn from
/// rng in row order). An epoch in CosRec's manner:
///   std::mt19937_64 rng(seed);
///   for each epoch: order = shuffled_order(windows.size(), rng);
///     for (begin = 0; begin < size; begin += B)
///       batch = make_batch(windows, order, begin, min(begin + B, size), sampler, 3, rng);
/// Throws nova::Error unless 0 <= begin < end <= order.size() and every
/// order[i] is a window.
RecommendationBatch make_batch(const SequenceWindows& windows, const std::vector<int64_t>& order, int64_t begin,
                               int64_t end, const NegativeSampler& sampler, int64_t negatives, std::mt19937_64& rng);

}  // namespace nova::datasets
