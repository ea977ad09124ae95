// examples/recommend_run.cpp: data, training and evaluation of
// examples/recommend (see recommend_run.h).
#include "examples/recommend_run.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <random>

#include <fmt/format.h>

#include "core/autograd.h"
#include "core/graph_dot.h"
#include "core/ops.h"
#include "core/profile.h"
#include "core/random.h"
#include "datasets/interaction_files.h"
#include "datasets/synthetic_interactions.h"
#include "examples/graph_picture.h"
#include "examples/profile_report.h"
#include "models/cosrec.h"
#include "models/train_checkpoint.h"
#include "nn/checkpoint.h"
#include "optim/check_finite.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace nova::examples {

namespace {

bool is_gowalla(const RecommendConfig& cfg) { return cfg.data == "gowalla"; }

/// Held while a run seeds the default generator and draws its initial weights.
std::mutex init_mutex;

/// Users evaluated per score_all call.
constexpr int64_t kEvalBatch = 512;

/// An int64 [rows, cols] tensor of values (row-major) on `device`.
Tensor int_tensor(const std::vector<int64_t>& values, const Shape& shape, Device device) {
  Tensor t = from_vector(values, shape);
  return device.is_cpu() ? t : t.to(device);
}

/// The seed of epoch e's generators: distinct per (seed, epoch), fixed by both.
uint64_t epoch_seed(uint64_t seed, int64_t epoch) {
  return seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch) * 0xBF58476D1CE4E5B9ull + 1;
}

/// Ranks every item by how many training interactions it has.
datasets::RankingMetrics popularity_baseline(const RecommendData& data) {
  std::vector<float> counts(size_t(data.split.num_items), 0.0f);
  for (const auto& items : data.split.train)
    for (int64_t i : items) counts[size_t(i)] += 1.0f;
  datasets::RankingEvaluator evaluator;
  for (int64_t u : data.eval_users)
    evaluator.add_scores(counts.data(), data.split.num_items, data.training_items[size_t(u)],
                         data.split.test[size_t(u)]);
  return evaluator.result();
}

/// The test ranking metrics of `model` (eval mode, no graph).
datasets::RankingMetrics evaluate(models::CosRec& model, const RecommendData& data, int64_t L, Device device) {
  NoGradGuard no_grad;
  model.eval();
  datasets::RankingEvaluator evaluator;
  for (size_t begin = 0; begin < data.eval_users.size(); begin += kEvalBatch) {
    const size_t end = std::min(data.eval_users.size(), begin + kEvalBatch);
    std::vector<int64_t> users(data.eval_users.begin() + long(begin), data.eval_users.begin() + long(end));
    std::vector<int64_t> seqs;
    seqs.reserve(users.size() * size_t(L));
    for (int64_t u : users)
      seqs.insert(seqs.end(), data.test_sequences.begin() + long(u * L), data.test_sequences.begin() + long((u + 1) * L));
    const int64_t b = int64_t(users.size());
    Tensor scores = model.score_all(int_tensor(seqs, {b, L}, device), int_tensor(users, {b}, device));
    evaluator.add_scores(scores, users, data.training_items, data.split.test);
  }
  model.train();
  return evaluator.result();
}

/// CosRec's loss on one batch: -mean log sigmoid(targets) - mean log(1 - sigmoid(negatives)).
Tensor batch_loss(models::CosRec& model, const datasets::RecommendationBatch& batch, int64_t T, int64_t negatives,
                  Device device) {
  Tensor items = ops::cat({batch.targets, batch.negatives}, 1).to(device);
  Tensor scores = model.forward(batch.sequences.to(device), batch.users.to(device), items);
  return ops::mean(ops::softplus(-scores.narrow(1, 0, T))) + ops::mean(ops::softplus(scores.narrow(1, T, negatives)));
}

std::string metrics_csv(const datasets::RankingMetrics& m) {
  return fmt::format("{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f}", m.map, m.precision[0], m.precision[1],
                     m.precision[2], m.recall[0], m.recall[1], m.recall[2]);
}

}  // namespace

int64_t RecommendConfig::embedding_size() const { return d > 0 ? d : data == "gowalla" ? 100 : 50; }
int64_t RecommendConfig::fc_size() const { return fc_dim > 0 ? fc_dim : data == "gowalla" ? 50 : 150; }
double RecommendConfig::weight_decay() const { return l2 >= 0 ? l2 : data == "gowalla" ? 1e-6 : 5e-6; }

const char* recommend_csv_header() {
  return "model,seed,epoch,loss,lr,seconds,map,p1,p5,p10,r1,r5,r10\n";
}

RecommendData load_recommend_data(const RecommendConfig& cfg) {
  RecommendData data;
  if (cfg.data == "synthetic") {
    datasets::SyntheticInteractionOptions options;
    options.users = cfg.synthetic_users;
    options.items = cfg.synthetic_items;
    const datasets::SyntheticInteractions synthetic = datasets::synthetic_interactions(options);
    data.split = datasets::split_histories(synthetic.histories);
    data.description = fmt::format("synthetic (datasets/synthetic_interactions.h, seed {}): {} themes", options.seed,
                                   options.themes);
  } else {
    NOVA_CHECK(!cfg.path.empty(), "recommend: --data {} needs --path (the {} file)", cfg.data,
               is_gowalla(cfg) ? "Gowalla check-ins" : "MovieLens-1M ratings.dat");
    const std::vector<datasets::Interaction> records =
        is_gowalla(cfg) ? datasets::read_gowalla_checkins(cfg.path) : datasets::read_movielens_ratings(cfg.path);
    data.split = datasets::prepare_sequential_data(records, is_gowalla(cfg)
                                                                ? datasets::SequentialDataOptions::gowalla()
                                                                : datasets::SequentialDataOptions::movielens_1m());
    data.description = fmt::format("{} ({}, {} records)", cfg.data, cfg.path, records.size());
  }
  int64_t train_count = 0, test_count = 0;
  for (int64_t u = 0; u < data.split.num_users; ++u) {
    train_count += int64_t(data.split.train[size_t(u)].size());
    test_count += int64_t(data.split.test[size_t(u)].size());
    if (!data.split.test[size_t(u)].empty()) data.eval_users.push_back(u);
  }
  data.description += fmt::format(": {} users, {} items, {} training and {} test interactions", data.split.num_users,
                                   data.split.num_items - 1, train_count, test_count);
  data.windows = datasets::make_sequence_windows(data.split.train, cfg.L, cfg.T);
  data.test_sequences = datasets::make_test_sequences(data.split.train, cfg.L);
  data.training_items = datasets::training_item_sets(data.split.train);
  data.sampler.emplace(data.split.train, data.split.num_items);
  data.popularity = popularity_baseline(data);
  return data;
}

RecommendResult train_recommender(const RecommendConfig& cfg, const RecommendData& data, optim::Progress& progress,
                                  std::ostream* csv) {
  const bool symmetric = cfg.model == "scosrec";
  models::CosRecOptions options = models::CosRecOptions::ml1m(data.split.num_users, data.split.num_items, symmetric);
  options.L = cfg.L, options.d = cfg.embedding_size(), options.fc_dim = cfg.fc_size(), options.dropout = cfg.dropout;
  // The initial weights come from the default generator, seeded here; runs
  // side by side (--compare) build their models one at a time, so that each
  // gets exactly what a single run with its seed gets. Dropout draws from
  // the run's own generator, reseeded every epoch.
  Generator dropout_gen(cfg.seed);
  options.dropout_generator = &dropout_gen;
  std::unique_lock<std::mutex> init_lock(init_mutex);
  manual_seed(cfg.seed);
  models::CosRec model(options);
  init_lock.unlock();
  model.to(cfg.device);
  optim::AdamOptions adam_options;
  adam_options.lr = cfg.lr, adam_options.weight_decay = cfg.weight_decay();
  optim::Adam adam(model.parameters(), adam_options);
  optim::ReduceLROnPlateau plateau(adam, optim::ReduceLROnPlateau::Mode::Max, cfg.plateau_factor,
                                   cfg.plateau_patience);

  models::TrainCheckpoint checkpoint;
  checkpoint.add("model", model).add("adam", adam).add("plateau", plateau);
  checkpoint.setting("model", cfg.model).setting("data", cfg.data).setting("seed", std::to_string(cfg.seed));
  checkpoint.setting("lr", fmt::format("{}", cfg.lr)).setting("batch", std::to_string(cfg.batch));
  checkpoint.setting("L", std::to_string(cfg.L)).setting("T", std::to_string(cfg.T));
  int64_t first_epoch = 1;
  if (!cfg.resume.empty()) {
    first_epoch = checkpoint.load(cfg.resume) + 1;
    progress.print("resumed from {} after epoch {}\n", cfg.resume, first_epoch - 1);
  }

  RecommendResult result;
  result.model = symmetric ? "SCosRec" : "CosRec";
  result.seed = cfg.seed;
  for (const Tensor& p : model.parameters()) result.parameters += p.numel();
  const auto start = std::chrono::steady_clock::now();
  const int64_t windows = data.windows.size();
  int64_t batches = (windows + cfg.batch - 1) / cfg.batch;
  // a last batch of one window would leave batch norm one value per channel
  // at the 1x1 map (PyTorch refuses it too): the batch before takes it
  if (batches > 1 && windows % cfg.batch == 1) --batches;
  const std::string label = fmt::format("{} seed {}", result.model, cfg.seed);
  if (!cfg.graph.empty()) {
    std::mt19937_64 graph_rng(epoch_seed(cfg.seed, 0));  // a batch of its own: the run's streams stay as they are
    const std::vector<int64_t> order = datasets::shuffled_order(windows, graph_rng);
    const datasets::RecommendationBatch batch = datasets::make_batch(
        data.windows, order, 0, std::min(windows, cfg.batch), *data.sampler, cfg.negatives, graph_rng);
    autograd::DotOptions options;
    options.names = model.named_parameters();
    options.root_names = {"loss"};
    options.title = fmt::format("recommend, one step: {}, batch {}, L {}, T {}, {} negatives", result.model,
                                std::min(windows, cfg.batch), cfg.L, cfg.T, cfg.negatives);
    // the training-mode forward moves batch norm's running statistics: put them back
    StateDict before;
    for (const auto& [key, t] : model.state_dict()) before.insert(key, t.clone());
    progress.print("{}\n", write_graph_picture(cfg.graph, {batch_loss(model, batch, cfg.T, cfg.negatives, cfg.device)},
                                               options));
    model.load_state_dict(before);
  }
  std::unique_ptr<profile::Profiler> profiler;
  if (!cfg.profile.empty()) profiler = std::make_unique<profile::Profiler>(kProfileEvents);
  optim::FiniteCheck finite(optim::OnNonFinite::stop);
  int64_t step = (first_epoch - 1) * batches + 1;  // the run's batch count, for the non-finite check's message
  for (int64_t epoch = first_epoch; epoch <= cfg.epochs; ++epoch) {
    const uint64_t seed = epoch_seed(cfg.seed, epoch);
    dropout_gen.manual_seed(seed);
    std::mt19937_64 rng(seed);
    const std::vector<int64_t> order = datasets::shuffled_order(windows, rng);
    double loss_sum = 0;
    for (int64_t b = 0; b < batches; ++b) {
      const int64_t begin = b * cfg.batch, end = b == batches - 1 ? windows : begin + cfg.batch;
      const datasets::RecommendationBatch batch =
          datasets::make_batch(data.windows, order, begin, end, *data.sampler, cfg.negatives, rng);
      Tensor loss;
      {
        profile::Scope scope("forward");
        loss = batch_loss(model, batch, cfg.T, cfg.negatives, cfg.device);
      }
      const double value = loss.item();
      finite.value(step, "loss", value);
      adam.zero_grad();
      {
        profile::Scope scope("backward");
        loss.backward();
      }
      {
        profile::Scope scope("Adam");
        adam.step();
      }
      loss_sum += value;
      ++step;
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress.update(fmt::format("{} epoch {}/{}", label, epoch, cfg.epochs), b + 1, batches,
                      fmt::format("loss {:.4f}", loss_sum / double(b + 1)), elapsed);
    }
    result.final_loss = batches > 0 ? loss_sum / double(batches) : 0.0;
    const double lr = adam.param_groups()[0].lr;
    std::string metrics_cells = ",,,,,,";
    if (epoch % cfg.eval_every == 0 || epoch == cfg.epochs) {
      {
        profile::Scope scope("evaluate");
        result.last = evaluate(model, data, cfg.L, cfg.device);
      }
      if (result.best_epoch == 0 || result.last.map > result.best.map) {
        result.best = result.last;
        result.best_epoch = epoch;
      }
      plateau.step(result.last.map);
      metrics_cells = metrics_csv(result.last);
      progress.print("{} epoch {:3d}: loss {:.4f}, lr {:.3g}, {}\n", label, epoch, result.final_loss, lr,
                     result.last.summary());
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (csv)
      *csv << fmt::format("{},{},{},{:.6f},{:.6g},{:.3f},{}\n", cfg.model, cfg.seed, epoch, result.final_loss, lr,
                          result.seconds, metrics_cells)
           << std::flush;
    if (!cfg.checkpoint.empty() &&
        ((cfg.checkpoint_every > 0 && epoch % cfg.checkpoint_every == 0) || epoch == cfg.epochs))
      checkpoint.save(cfg.checkpoint, epoch);
  }
  progress.clear();
  if (profiler) fmt::print("{}", finish_profile(*profiler, cfg.profile));
  if (!cfg.save.empty()) nn::save(model, cfg.save);
  return result;
}

}  // namespace nova::examples
