// examples/rnn_task_net.h: what examples/rnn_tasks trains (thesis section
// 3.1.4): the four sequence tasks, the six compared models as one recurrent
// layer plus a linear read-out, the thesis's parameter-matched sizes, and its
// Tables 3.1 and 3.2 for printing beside a run's results.
//
// Sizes (thesis 3.1.4.1 and 3.1.4.2; adding and copying are not sized in the
// thesis, which points to the NC-GRU paper for them: they take the denoise
// sizes here):
//   parenthesis, batch 16: LSTM 42, GRU 50, scoRNN 110, GORU 64, NC-GRU 56;
//                -1 entries of D: scoRNN 20, NC-GRU 40
//   denoise,     batch 128: LSTM 90, GRU 100, scoRNN 200, GORU 128,
//                NC-GRU 118; -1 entries of D: 50 for scoRNN and NC-GRU
// GORU's U is its EUNN (FFT style, nn/eunn.h) by default, whose rotations
// have determinant 1; the Cayley option (--goru-u cayley) gets no -1
// entries either.
//
// The read-out: parenthesis and the two classification tasks read every
// step's hidden state (one output per step), adding reads only the last one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "datasets/rnn_tasks.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/orthogonal_rnn.h"
#include "nn/rnn.h"
#include "optim/cayley.h"

namespace nova::examples {

enum class RnnTask { parenthesis, denoise, adding, copying };
enum class RnnModel { lstm, gru, scornn, goru, ncgru_uc, ncgru_urc };

/// "parenthesis", "denoise", "adding", "copying".
const std::vector<std::string>& rnn_task_names();
/// "lstm", "gru", "scornn", "goru", "ncgru-uc", "ncgru-urc": the thesis's
/// table order.
const std::vector<std::string>& rnn_model_names();
/// By name; throws nova::Error naming the choices otherwise.
RnnTask parse_rnn_task(const std::string& name);
RnnModel parse_rnn_model(const std::string& name);
std::string rnn_task_name(RnnTask task);
std::string rnn_model_name(RnnModel model);
/// The thesis's label: "LSTM", ..., "NC-GRU(U_c)", "NC-GRU(U_r, U_c)".
std::string rnn_model_label(RnnModel model);
/// True for the models trained with the CayleyOptimizer (GORU only with
/// its Cayley U: its EUNN angles are ordinary parameters).
bool has_orthogonal_weights(RnnModel model, nn::GORUOrthogonal goru_u = nn::GORUOrthogonal::eunn_fft);
/// "eunn-fft", "eunn-tunable", "cayley", and back (throws nova::Error naming
/// the choices otherwise).
const std::vector<std::string>& goru_u_names();
nn::GORUOrthogonal parse_goru_u(const std::string& name);
std::string goru_u_name(nn::GORUOrthogonal u);

/// The thesis's batch size for the task (16 for parenthesis, 128 otherwise).
int64_t default_batch(RnnTask task);
/// The thesis's parameter-matched hidden size (see the file header).
int64_t default_hidden(RnnTask task, RnnModel model);
/// The thesis's count of -1 entries in D (0 for the gated baselines).
int64_t default_negative_ones(RnnTask task, RnnModel model);

/// The thesis's minimum attained loss (Table 3.1 for parenthesis, T 100 and
/// 200; Table 3.2 for denoise, T 200 and 400), in the loss's own units (not
/// the tables' x 1e-3 / x 1e-2), or NaN where the thesis has no number.
double thesis_min_loss(RnnTask task, RnnModel model, int64_t T);
/// The scale the thesis's table prints the task's losses in: 1e-3
/// (parenthesis), 1e-2 (denoise), 1 otherwise.
double thesis_loss_unit(RnnTask task);

/// Input channels and outputs per read step of the task.
int64_t task_input_size(RnnTask task);
int64_t task_output_size(RnnTask task);
/// A fresh batch of the task: T steps (the delay for denoise and copying,
/// whose sequences are T + 20 long), B sequences, drawn from `gen`.
datasets::SequenceBatch task_batch(RnnTask task, int64_t T, int64_t B, Generator& gen, DType dtype, Device device);
/// The sequences `index` (int64 [k]) of `all` (a task_batch of the task),
/// as a batch of k: every tensor indexed along its batch dim.
datasets::SequenceBatch select_sequences(RnnTask task, const datasets::SequenceBatch& all, const Tensor& index);
/// The task's loss of the network's output (RnnTaskNet::forward) on `batch`.
Tensor task_loss(RnnTask task, const Tensor& output, const datasets::SequenceBatch& batch);
/// What always answering the data's average scores, where the task defines
/// it (datasets/rnn_tasks.h), else NaN: the line a model must get under.
double task_baseline_loss(RnnTask task, int64_t T);

/// One recurrent layer of `model` and a linear read-out. Every initial value
/// is drawn from `gen` (the layers' own default draws are replaced), so a
/// seed gives the same network however many are built at once on other
/// threads.
class RnnTaskNet : public nn::Module {
 public:
  /// goru_u, goru_capacity: how GORU makes its U (nn::GORUOptions); other
  /// models ignore them.
  RnnTaskNet(RnnModel model, RnnTask task, int64_t hidden, int64_t negative_ones, Generator& gen,
             DType dtype = kFloat32, nn::GORUOrthogonal goru_u = nn::GORUOrthogonal::eunn_fft,
             int64_t goru_capacity = 2);

  /// inputs [steps, B, I] -> [steps, B, outputs], or [B, outputs] for adding.
  Tensor forward(const Tensor& inputs) override;

  /// The orthogonal weights, for the CayleyOptimizer (none for LSTM and GRU).
  std::vector<optim::OrthogonalWeight> orthogonal_weights() const;
  /// Every parameter but the orthogonal weights' U and A: the ordinary
  /// optimizer's.
  std::vector<Tensor> ordinary_parameters() const;
  /// Trained numbers: an orthogonal weight counts its skew A's free entries,
  /// n (n - 1) / 2, not U's and A's 2 n^2 stored ones (GORU's EUNN: its
  /// angles).
  int64_t trainable_parameters() const;

  RnnModel model;
  RnnTask task;
  int64_t hidden;

 private:
  std::shared_ptr<nn::RNNBase> gated_;         // LSTM, GRU
  std::shared_ptr<nn::OrthogonalCell> cell_;   // scoRNN, GORU, NC-GRU
  std::shared_ptr<nn::Linear> readout_;
};

}  // namespace nova::examples
