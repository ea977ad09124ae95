// examples/rnn_task_net.cpp: the tasks, models and thesis numbers of
// examples/rnn_tasks (see rnn_task_net.h).
#include "examples/rnn_task_net.h"

#include <cmath>
#include <limits>

#include "core/autograd.h"
#include "core/base/error.h"
#include "core/ops.h"
#include "nn/init.h"

namespace nova::examples {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <typename E>
E parse_choice(const char* what, const std::vector<std::string>& names, const std::string& name) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return E(i);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  fail("rnn_tasks: unknown {} '{}' (one of: {})", what, name, list);
}

}  // namespace

const std::vector<std::string>& rnn_task_names() {
  static const std::vector<std::string> names{"parenthesis", "denoise", "adding", "copying"};
  return names;
}

const std::vector<std::string>& rnn_model_names() {
  static const std::vector<std::string> names{"lstm", "gru", "scornn", "goru", "ncgru-uc", "ncgru-urc"};
  return names;
}

RnnTask parse_rnn_task(const std::string& name) { return parse_choice<RnnTask>("task", rnn_task_names(), name); }
RnnModel parse_rnn_model(const std::string& name) {
  return parse_choice<RnnModel>("model", rnn_model_names(), name);
}
std::string rnn_task_name(RnnTask task) { return rnn_task_names().at(size_t(task)); }
std::string rnn_model_name(RnnModel model) { return rnn_model_names().at(size_t(model)); }

std::string rnn_model_label(RnnModel model) {
  static const char* labels[] = {"LSTM", "GRU", "scoRNN", "GORU", "NC-GRU(U_c)", "NC-GRU(U_r, U_c)"};
  return labels[size_t(model)];
}

bool has_orthogonal_weights(RnnModel model, nn::GORUOrthogonal goru_u) {
  if (model == RnnModel::goru) return goru_u == nn::GORUOrthogonal::cayley;
  return model != RnnModel::lstm && model != RnnModel::gru;
}

const std::vector<std::string>& goru_u_names() {
  static const std::vector<std::string> names{"eunn-fft", "eunn-tunable", "cayley"};
  return names;
}

nn::GORUOrthogonal parse_goru_u(const std::string& name) {
  if (name == "eunn-fft") return nn::GORUOrthogonal::eunn_fft;
  if (name == "eunn-tunable") return nn::GORUOrthogonal::eunn_tunable;
  if (name == "cayley") return nn::GORUOrthogonal::cayley;
  fail("rnn_tasks: unknown GORU U '{}' (eunn-fft, eunn-tunable or cayley)", name);
}

std::string goru_u_name(nn::GORUOrthogonal u) { return goru_u_names()[size_t(u)]; }

int64_t default_batch(RnnTask task) { return task == RnnTask::parenthesis ? 16 : 128; }

int64_t default_hidden(RnnTask task, RnnModel model) {
  //                                   lstm gru scornn goru ncgru-uc ncgru-urc
  static const int64_t parenthesis[] = {42, 50, 110, 64, 56, 56};
  static const int64_t denoise[] = {90, 100, 200, 128, 118, 118};
  return (task == RnnTask::parenthesis ? parenthesis : denoise)[size_t(model)];
}

int64_t default_negative_ones(RnnTask task, RnnModel model) {
  switch (model) {
    case RnnModel::scornn: return task == RnnTask::parenthesis ? 20 : 50;
    case RnnModel::ncgru_uc:
    case RnnModel::ncgru_urc: return task == RnnTask::parenthesis ? 40 : 50;
    default: return 0;
  }
}

double thesis_min_loss(RnnTask task, RnnModel model, int64_t T) {
  // Table 3.1 (x 1e-3) and Table 3.2 (x 1e-2), rows in rnn_model_names() order
  static const double parenthesis_100[] = {0.62, 29.94, 24.85, 1.199, 0.286, 0.149};
  static const double parenthesis_200[] = {6.93, 1.526, 18.957, 1.66, 0.227, 0.167};
  static const double denoise_200[] = {10.08, 9.799, 8.258, 4.453, 1.639, 1.633};
  static const double denoise_400[] = {5.427, 5.2338, 3.812, 2.29, 0.878, 0.774};
  const double* row = nullptr;
  if (task == RnnTask::parenthesis) row = T == 100 ? parenthesis_100 : T == 200 ? parenthesis_200 : nullptr;
  if (task == RnnTask::denoise) row = T == 200 ? denoise_200 : T == 400 ? denoise_400 : nullptr;
  return row ? row[size_t(model)] * thesis_loss_unit(task) : kNaN;
}

double thesis_loss_unit(RnnTask task) {
  return task == RnnTask::parenthesis ? 1e-3 : task == RnnTask::denoise ? 1e-2 : 1.0;
}

int64_t task_input_size(RnnTask task) {
  switch (task) {
    case RnnTask::parenthesis: return datasets::ParenthesisOptions{}.input_size();
    case RnnTask::denoise: return datasets::kDenoiseInputSize;
    case RnnTask::adding: return 2;
    case RnnTask::copying: return datasets::kCopyingInputSize;
  }
  return 0;
}

int64_t task_output_size(RnnTask task) {
  switch (task) {
    case RnnTask::parenthesis: return datasets::ParenthesisOptions{}.output_size();
    case RnnTask::denoise: return datasets::kDenoiseClasses;
    case RnnTask::adding: return 1;
    case RnnTask::copying: return datasets::kCopyingClasses;
  }
  return 0;
}

datasets::SequenceBatch task_batch(RnnTask task, int64_t T, int64_t B, Generator& gen, DType dtype, Device device) {
  switch (task) {
    case RnnTask::parenthesis: return datasets::parenthesis_task(T, B, &gen, {}, dtype, device);
    case RnnTask::denoise: return datasets::denoise_task(T, B, &gen, dtype, device);
    case RnnTask::adding: return datasets::adding_task(T, B, &gen, dtype, device);
    case RnnTask::copying: return datasets::copying_task(T, B, &gen, dtype, device);
  }
  fail("rnn_tasks: unknown task");
}

datasets::SequenceBatch select_sequences(RnnTask task, const datasets::SequenceBatch& all, const Tensor& index) {
  const Tensor i = index.to(all.inputs.device());
  auto pick = [&](const Tensor& t, int64_t dim) { return t.defined() ? ops::index_select(t, dim, i) : Tensor(); };
  // every tensor is [steps, B, ...] but adding's targets, [B, 1]
  return {pick(all.inputs, 1), pick(all.targets, task == RnnTask::adding ? 0 : 1), pick(all.tokens, 1),
          pick(all.labels, 1)};
}

Tensor task_loss(RnnTask task, const Tensor& output, const datasets::SequenceBatch& batch) {
  switch (task) {
    case RnnTask::parenthesis: return datasets::parenthesis_loss(output, batch);
    case RnnTask::adding: return ops::mse_loss(output, batch.targets);
    case RnnTask::denoise:
    case RnnTask::copying: return datasets::sequence_cross_entropy(output, batch.targets);
  }
  fail("rnn_tasks: unknown task");
}

double task_baseline_loss(RnnTask task, int64_t T) {
  switch (task) {
    case RnnTask::denoise: return datasets::denoise_baseline_loss(T);
    case RnnTask::adding: return datasets::adding_baseline_loss();
    case RnnTask::copying: return datasets::copying_baseline_loss(T);
    default: return kNaN;
  }
}

RnnTaskNet::RnnTaskNet(RnnModel model_, RnnTask task_, int64_t hidden_, int64_t negative_ones, Generator& gen,
                       DType dtype, nn::GORUOrthogonal goru_u, int64_t goru_capacity)
    : nn::Module("RnnTaskNet"), model(model_), task(task_), hidden(hidden_) {
  NOVA_CHECK(hidden >= 1, "RnnTaskNet: hidden size must be >= 1, got {}", hidden);
  NOVA_CHECK(negative_ones >= 0 && negative_ones <= hidden,
             "RnnTaskNet: {} -1 entries of D do not fit hidden size {}", negative_ones, hidden);
  const int64_t in = task_input_size(task), out = task_output_size(task);
  switch (model) {
    case RnnModel::lstm: gated_ = register_module("rnn", std::make_shared<nn::LSTM>(in, hidden)); break;
    case RnnModel::gru: gated_ = register_module("rnn", std::make_shared<nn::GRU>(in, hidden)); break;
    case RnnModel::scornn:
      cell_ = register_module("rnn", std::make_shared<nn::ScoRNNCell>(
                                         in, hidden, nn::ScoRNNOptions().negative_ones(negative_ones).generator(&gen)));
      break;
    case RnnModel::goru:
      cell_ = register_module("rnn", std::make_shared<nn::GORUCell>(
                                         in, hidden,
                                         nn::GORUOptions()
                                             .orthogonal(goru_u)
                                             .capacity(goru_capacity)
                                             .negative_ones(negative_ones)
                                             .generator(&gen)));
      break;
    case RnnModel::ncgru_uc:
    case RnnModel::ncgru_urc:
      cell_ = register_module(
          "rnn", std::make_shared<nn::NCGRUCell>(in, hidden,
                                                 nn::NCGRUOptions()
                                                     .negative_ones(negative_ones)
                                                     .orthogonal_reset(model == RnnModel::ncgru_urc)
                                                     .generator(&gen)));
      break;
  }
  readout_ = register_module("readout", std::make_shared<nn::Linear>(hidden, out));
  {
    // LSTM, GRU and Linear draw from the global default generator, which
    // other threads' runs share: redraw from `gen`, same distributions
    // (PyTorch's U(-1/sqrt(fan), 1/sqrt(fan)))
    NoGradGuard no_grad;
    if (gated_)
      for (Tensor& p : gated_->parameters()) nn::init::uniform_(p, -1 / std::sqrt(double(hidden)), 1 / std::sqrt(double(hidden)), &gen);
    for (Tensor& p : readout_->parameters())
      nn::init::uniform_(p, -1 / std::sqrt(double(hidden)), 1 / std::sqrt(double(hidden)), &gen);
  }
  if (dtype != kFloat32) to(dtype);
}

Tensor RnnTaskNet::forward(const Tensor& inputs) {
  Tensor states = gated_ ? gated_->forward(inputs) : nn::run_sequence(*cell_, inputs).outputs;  // [steps, B, H]
  if (task == RnnTask::adding) states = ops::select(states, 0, states.size(0) - 1);
  return readout_->forward(states);
}

std::vector<optim::OrthogonalWeight> RnnTaskNet::orthogonal_weights() const {
  return cell_ ? cell_->orthogonal_weights() : std::vector<optim::OrthogonalWeight>{};
}

std::vector<Tensor> RnnTaskNet::ordinary_parameters() const {
  std::vector<Tensor> params = gated_ ? gated_->parameters() : cell_->other_parameters();
  for (const Tensor& p : readout_->parameters()) params.push_back(p);
  return params;
}

int64_t RnnTaskNet::trainable_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : ordinary_parameters()) n += p.numel();
  for (const optim::OrthogonalWeight& w : orthogonal_weights()) n += w.A.size(0) * (w.A.size(0) - 1) / 2;
  return n;
}

}  // namespace nova::examples
