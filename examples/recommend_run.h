// examples/recommend_run.h: the pieces of examples/recommend (CosRec and
// SCosRec, thesis section 4.1.4.1): the data a run trains on, one training
// run, and its evaluation.
//
// Data: the synthetic interactions of datasets/synthetic_interactions.h
// (default), or MovieLens-1M's ratings.dat or Gowalla's check-ins file
// through Caser's preprocessing (datasets/sequential_recommendation.h):
// cold-start filter, per-user time split with validation merged into
// training (CosRec's train file), windows of L + T, negatives from the
// items a user never had.
//
// One run (CosRec's train.py, with the thesis's plateau schedule):
//   each epoch: windows shuffled, batches of B with n negatives each,
//     loss = -mean log sigmoid(score(targets)) - mean log(1 - sigmoid(score(negatives)))
//     (softplus form), Adam (lr, weight decay l2);
//   every eval_every epochs and after the last: every user with test items
//     ranks all items but its training ones (datasets/ranking_metrics.h);
//     the MAP drives ReduceLROnPlateau (mode max, factor 0.15, patience 3
//     evaluations), as the thesis's "decay on plateau ... with respect to
//     the MAP metric". Like CosRec's code, the evaluation is on the test
//     split and the run reports both the last evaluation and the best one.
// A NaN or infinite loss stops the run with an error naming the epoch and
// the batch. --graph draws one training step's backward graph (on a batch
// of its own, so the run is unchanged); --profile times the training loop
// per op with the scopes "forward", "backward", "Adam" and "evaluate".
// Randomness: the model's initialisation from --seed; epoch e's shuffle,
// negatives and dropout masks from the run's own generators seeded with
// (seed, e), so a run resumed from an epoch's checkpoint continues bit for
// bit as if never stopped, and a run of --compare gets what a single run
// with its seed gets, whatever runs beside it.
#pragma once

#include <cstdint>
#include <ostream>
#include <optional>
#include <string>
#include <vector>

#include "core/base/device.h"
#include "datasets/ranking_metrics.h"
#include "datasets/sequential_recommendation.h"
#include "optim/progress.h"

namespace nova::examples {

/// Everything the command line sets for a run.
struct RecommendConfig {
  std::string model = "scosrec";  // cosrec | scosrec
  std::string data = "synthetic";  // synthetic | ml1m | gowalla
  std::string path;                // the ratings.dat / check-ins file for ml1m / gowalla
  int64_t synthetic_users = 4000, synthetic_items = 1000;  // the synthetic data's size
  int64_t epochs = 20, batch = 512, L = 5, T = 3, negatives = 3, eval_every = 2;
  int64_t d = 0, fc_dim = 0;  // 0: the data set's (50 / 150 for ML-1M and synthetic, 100 / 50 for Gowalla)
  double lr = 1e-3, l2 = -1, dropout = 0.5;  // l2 < 0: the data set's (5e-6, Gowalla 1e-6)
  double plateau_factor = 0.15;
  int64_t plateau_patience = 3;
  uint64_t seed = 0;
  Device device = kCPU;
  std::string checkpoint, resume, save;  // paths, empty when off
  std::string graph, profile;            // --graph FILE.dot, --profile FILE.json: empty when off
  int64_t checkpoint_every = 1;          // epochs

  int64_t embedding_size() const;
  int64_t fc_size() const;
  double weight_decay() const;
};

/// The prepared data of one data set, shared by every run of a process.
struct RecommendData {
  std::string description;  // "synthetic: 4000 users, 1001 items, ..."
  datasets::SequentialSplit split;
  datasets::SequenceWindows windows;
  std::vector<int64_t> test_sequences;               // [num_users, L]
  std::vector<std::vector<int64_t>> training_items;  // [num_users] sorted
  std::vector<int64_t> eval_users;                   // the users with test items
  std::optional<datasets::NegativeSampler> sampler;  // set by load_recommend_data
  datasets::RankingMetrics popularity;  // the baseline that ranks by training counts
};

/// Reads or generates cfg.data and prepares it (throws nova::Error naming
/// the file on a bad one).
RecommendData load_recommend_data(const RecommendConfig& cfg);

/// What a run reports.
struct RecommendResult {
  std::string model;
  uint64_t seed = 0;
  int64_t parameters = 0;
  datasets::RankingMetrics last, best;  // the last evaluation; the one with the highest MAP
  int64_t best_epoch = 0;
  double final_loss = 0, seconds = 0;
};

/// Trains cfg.model on `data` for cfg.epochs (from the checkpoint's epoch
/// with cfg.resume), evaluating as the header says. csv (may be null) gets
/// one row per epoch; progress draws the bar and prints evaluations.
RecommendResult train_recommender(const RecommendConfig& cfg, const RecommendData& data, optim::Progress& progress,
                                  std::ostream* csv);

/// The CSV header train_recommender's rows follow.
const char* recommend_csv_header();

}  // namespace nova::examples
