// datasets/rnn_tasks.h: the synthetic sequence tasks of the orthogonal-RNN
// literature (thesis section 3.1.4), generated batch by batch from a seed.
// Every batch is time-major, like nova's recurrent layers: inputs
// [steps, B, input_size]; batch-first code transposes dims 0 and 1.
//
// Parenthesis (thesis 3.1.4.1, after Foerster et al. and GORU, Jing et al.
// 2019; we follow the NC-GRU authors' code, THESIS-NOTES.md):
//   alphabet  ( ) [ ] { } a : bracket type k opens with id 2k and closes
//             with 2k + 1; the noise symbol 'a' is id 6. Each of the T
//             steps draws one symbol uniformly from the 7.
//   inputs    one-hot [T, B, 7].
//   labels    [T, B, 3] int64: after reading step t, the number of unclosed
//             brackets of each type, saturating: an opening adds 1 up to 5,
//             a closing subtracts 1 down to 0 (a stray closing is ignored).
//   targets   [T, B, 3 * 6]: one-hot of each count over the 6 values 0..5,
//             type k in columns 6k..6k+5.
//   loss      MSE of the network's 18 outputs to targets, mean over
//             T * B * 18 (the authors' "identity" read-out; Table 3.1's
//             losses are of this kind, hence the 1e-3 scale).
//   GORU's own code uses 10 bracket types, 10 noise symbols, counts up to 10
//   and cross-entropy: ParenthesisOptions::goru() gives its alphabet.
//
// Denoise (thesis 3.1.4.2, GORU's paper; both authors' code):
//   alphabet  0 noise, 1..9 data digits, 10 marker.
//   inputs    one-hot [T + 20, B, 11]. Steps 0..T+8 are noise except 10 of
//             them, at distinct uniformly drawn positions, which carry digits
//             drawn uniformly from 1..9; step T+9 is the marker; steps
//             T+10..T+19 are noise.
//   targets   [T + 20, B] int64: 0 for steps 0..T+9, then the 10 digits in
//             the order they appeared in the input.
//   loss      cross-entropy over 10 classes (0..9) at every step, mean over
//             (T + 20) * B; predicting the digit distribution in the last 10
//             steps scores denoise_baseline_loss(T) = 10 log 9 / (T + 20).
//   Two differences from the authors' code, both stated: their positions are
//   drawn with replacement (np.random.choice's default), so a collision
//   drops a digit from the input while the target keeps it; we draw distinct
//   positions, as the task's text says ("10 randomly located data points").
//   Their one-hot has depth 10, so the marker (10) becomes the zero vector;
//   ours gives the marker a channel of its own (input_size 11).
//
// Adding (Arjovsky, Shah and Bengio 2016, "Unitary evolution RNNs", 4.2):
//   inputs    [T, B, 2]: channel 0 values uniform in [0, 1); channel 1 is 0
//             except two 1s, one at a uniform position in [0, T/2) and one in
//             [T/2, T) (T/2 rounded down).
//   targets   [B, 1]: the sum of the two marked values.
//   loss      MSE; always answering 1 scores adding_baseline_loss() = 1/6
//             (the variance of a sum of two U(0, 1): the paper's 0.167).
//
// Copying (Arjovsky et al. 2016, 4.1):
//   alphabet  0 blank, 1..8 symbols, 9 marker (delimiter).
//   inputs    one-hot [T + 20, B, 10]: 10 symbols drawn uniformly (with
//             replacement) from 1..8, then T - 1 blanks, the marker at step
//             T + 9, then 10 blanks.
//   targets   [T + 20, B] int64: 0 for steps 0..T+9, then the 10 symbols.
//   loss      cross-entropy at every step over at least 9 classes (0..8),
//             mean over (T + 20) * B; copying_baseline_loss(T) =
//             10 log 8 / (T + 20) is what guessing the symbols scores.
//
// Each generator draws its random numbers from `gen` (the default generator
// when null) on the CPU, so a seed gives the same batch in any build, and
// successive calls give new batches.
#pragma once

#include <cstdint>

#include "core/random.h"
#include "core/tensor.h"

namespace nova::datasets {

/// One batch of a sequence task. Fields a task does not use are undefined.
struct SequenceBatch {
  Tensor inputs;   // [steps, B, input_size] floating (one-hot or values)
  Tensor targets;  // what the loss compares with (see each task)
  Tensor tokens;   // [steps, B] int64 input symbol ids (not for adding)
  Tensor labels;   // parenthesis: [T, B, types] int64 counts
};

struct ParenthesisOptions {
  int64_t bracket_types = 3;  // ()[]{}: the NC-GRU authors' code
  int64_t noise_symbols = 1;  // 'a'
  int64_t max_count = 5;      // counts saturate at this value

  /// GORU's code: 10 bracket types, 10 noise symbols, counts up to 10.
  static ParenthesisOptions goru() { return {10, 10, 10}; }
  /// 2 * bracket_types + noise_symbols.
  int64_t input_size() const { return 2 * bracket_types + noise_symbols; }
  /// bracket_types * (max_count + 1): the width of targets.
  int64_t output_size() const { return bracket_types * (max_count + 1); }
};

/// The parenthesis task, T steps, batch B (see the file header). Throws
/// unless T >= 1, B >= 1, bracket_types >= 1, noise_symbols >= 0 and
/// max_count >= 1. targets and inputs have `dtype` (floating), on `device`.
SequenceBatch parenthesis_task(int64_t T, int64_t B, Generator* gen = nullptr,
                               const ParenthesisOptions& options = {}, DType dtype = kFloat32,
                               Device device = kCPU);

/// Mean squared error of outputs [T, B, output_size] to batch.targets.
Tensor parenthesis_loss(const Tensor& outputs, const SequenceBatch& batch);

/// Denoise input channels (noise, 9 digits, marker) and output classes.
constexpr int64_t kDenoiseInputSize = 11;
constexpr int64_t kDenoiseClasses = 10;

/// The denoise task with delay T (sequence length T + 20), batch B. Throws
/// unless T >= 1 and B >= 1.
SequenceBatch denoise_task(int64_t T, int64_t B, Generator* gen = nullptr, DType dtype = kFloat32,
                           Device device = kCPU);

/// 10 log 9 / (T + 20): the cross-entropy of a model that outputs 0 at the
/// first T + 10 steps and a uniform guess over 1..9 at the last 10.
double denoise_baseline_loss(int64_t T);

/// The adding task, T steps, batch B. Throws unless T >= 2 and B >= 1.
SequenceBatch adding_task(int64_t T, int64_t B, Generator* gen = nullptr, DType dtype = kFloat32,
                          Device device = kCPU);

/// 1/6 (~0.167): the MSE of always predicting 1.
double adding_baseline_loss();

/// Copying input channels (blank, 8 symbols, marker) and the classes a
/// target can hold (blank and the 8 symbols).
constexpr int64_t kCopyingInputSize = 10;
constexpr int64_t kCopyingClasses = 9;

/// The copying task with T blanks in the middle (length T + 20), batch B.
/// Throws unless T >= 1 and B >= 1.
SequenceBatch copying_task(int64_t T, int64_t B, Generator* gen = nullptr, DType dtype = kFloat32,
                           Device device = kCPU);

/// 10 log 8 / (T + 20): the cross-entropy of outputting blank until the
/// marker and then a uniform guess over the 8 symbols.
double copying_baseline_loss(int64_t T);

/// Cross-entropy of logits [steps, B, C] against class targets [steps, B],
/// mean over steps * B: the loss of the denoise and copying tasks.
Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& targets);

}  // namespace nova::datasets
