// datasets/rnn_tasks.cpp: the parenthesis, denoise, adding and copying tasks
// (definitions and sources in rnn_tasks.h). Random numbers come from the
// generator as a few whole tensors on the CPU; the sequences are then built
// by plain loops over host vectors, which is cheap at these sizes (a batch
// of 128 x 220 steps) and easy to check against the definitions.
#include "datasets/rnn_tasks.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "core/ops.h"

namespace nova::datasets {

namespace {

Generator& pick(Generator* gen) { return gen ? *gen : default_generator(); }

void check_sizes(const char* op, int64_t T, int64_t min_T, int64_t B, DType dtype) {
  NOVA_CHECK(T >= min_T, "{}: T must be >= {}, got {}", op, min_T, T);
  NOVA_CHECK(B >= 1, "{}: batch size B must be >= 1, got {}", op, B);
  NOVA_CHECK(is_floating(dtype), "{}: dtype must be float32 or float64, got {}", op, dtype_name(dtype));
}

/// One-hot [steps, B, classes] of token ids [steps * B] (time-major).
Tensor one_hot_steps(const std::vector<int64_t>& tokens, int64_t steps, int64_t B, int64_t classes,
                     DType dtype, Device device) {
  std::vector<double> x(size_t(steps * B * classes), 0.0);
  for (size_t i = 0; i < tokens.size(); ++i) x[i * size_t(classes) + size_t(tokens[i])] = 1.0;
  return from_vector(x, {steps, B, classes}, dtype, device);
}

Tensor int64_tensor(const std::vector<int64_t>& v, const Shape& shape, Device device) {
  return from_vector(v, shape).to(device);
}

/// The batch of a task whose targets are a class per step (denoise,
/// copying): one-hot inputs of the time-major tokens, the targets and the
/// tokens as [steps, B] ids.
SequenceBatch class_per_step_batch(const std::vector<int64_t>& tokens, const std::vector<int64_t>& targets,
                                   int64_t steps, int64_t B, int64_t input_size, DType dtype, Device device) {
  SequenceBatch batch;
  batch.inputs = one_hot_steps(tokens, steps, B, input_size, dtype, device);
  batch.targets = int64_tensor(targets, {steps, B}, device);
  batch.tokens = int64_tensor(tokens, {steps, B}, device);
  return batch;
}

}  // namespace

// ---- parenthesis ----

SequenceBatch parenthesis_task(int64_t T, int64_t B, Generator* gen, const ParenthesisOptions& o, DType dtype,
                               Device device) {
  const char* op = "parenthesis_task";
  check_sizes(op, T, 1, B, dtype);
  NOVA_CHECK(o.bracket_types >= 1, "{}: bracket_types must be >= 1, got {}", op, o.bracket_types);
  NOVA_CHECK(o.noise_symbols >= 0, "{}: noise_symbols must be >= 0, got {}", op, o.noise_symbols);
  NOVA_CHECK(o.max_count >= 1, "{}: max_count must be >= 1, got {}", op, o.max_count);
  const int64_t types = o.bracket_types, classes = o.max_count + 1;
  const std::vector<int64_t> tokens =
      randint(0, o.input_size(), {T, B}, kInt64, kCPU, &pick(gen)).to_vector<int64_t>();

  std::vector<int64_t> counts(size_t(B * types), 0);  // the running count of each sample
  std::vector<int64_t> labels(size_t(T * B * types));
  std::vector<double> targets(size_t(T * B * types * classes), 0.0);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t token = tokens[size_t(t * B + b)];
      if (token < 2 * types) {  // a bracket: type token / 2, opening when even
        int64_t& c = counts[size_t(b * types + token / 2)];
        c = token % 2 == 0 ? std::min(o.max_count, c + 1) : std::max<int64_t>(0, c - 1);
      }
      for (int64_t k = 0; k < types; ++k) {
        const int64_t c = counts[size_t(b * types + k)];
        const size_t row = size_t((t * B + b) * types + k);
        labels[row] = c;
        targets[row * size_t(classes) + size_t(c)] = 1.0;
      }
    }
  }
  SequenceBatch batch;
  batch.inputs = one_hot_steps(tokens, T, B, o.input_size(), dtype, device);
  batch.targets = from_vector(targets, {T, B, o.output_size()}, dtype, device);
  batch.tokens = int64_tensor(tokens, {T, B}, device);
  batch.labels = int64_tensor(labels, {T, B, types}, device);
  return batch;
}

Tensor parenthesis_loss(const Tensor& outputs, const SequenceBatch& batch) {
  NOVA_CHECK(batch.targets.defined() && outputs.shape() == batch.targets.shape(),
             "parenthesis_loss: outputs must have the targets' shape {}, got {}",
             batch.targets.defined() ? batch.targets.shape().str() : "(undefined)", outputs.shape().str());
  return ops::mse_loss(outputs, batch.targets);
}

// ---- denoise ----

SequenceBatch denoise_task(int64_t T, int64_t B, Generator* gen, DType dtype, Device device) {
  const char* op = "denoise_task";
  check_sizes(op, T, 1, B, dtype);
  constexpr int64_t kData = 10, kMarker = 10;
  const int64_t steps = T + 20, slots = T + kData - 1;  // data may sit at steps 0..T+8
  Generator& g = pick(gen);
  const std::vector<int64_t> digits = randint(1, 10, {B, kData}, kInt64, kCPU, &g).to_vector<int64_t>();
  const std::vector<double> u = rand({B, kData}, kFloat64, kCPU, &g).to_vector<double>();

  std::vector<int64_t> tokens(size_t(steps * B), 0), targets(size_t(steps * B), 0);
  std::vector<int64_t> order(static_cast<size_t>(slots));
  for (int64_t b = 0; b < B; ++b) {
    // 10 distinct positions among `slots`: the first 10 swaps of a Fisher-Yates shuffle
    std::iota(order.begin(), order.end(), int64_t(0));
    for (int64_t k = 0; k < kData; ++k) {
      const int64_t span = slots - k;
      const int64_t j = k + std::min(span - 1, int64_t(u[size_t(b * kData + k)] * double(span)));
      std::swap(order[size_t(k)], order[size_t(j)]);
    }
    std::sort(order.begin(), order.begin() + kData);
    for (int64_t k = 0; k < kData; ++k) {
      const int64_t digit = digits[size_t(b * kData + k)];
      tokens[size_t(order[size_t(k)] * B + b)] = digit;
      targets[size_t((T + kData + k) * B + b)] = digit;
    }
    tokens[size_t((T + kData - 1) * B + b)] = kMarker;
  }
  return class_per_step_batch(tokens, targets, steps, B, kDenoiseInputSize, dtype, device);
}

double denoise_baseline_loss(int64_t T) {
  NOVA_CHECK(T >= 1, "denoise_baseline_loss: T must be >= 1, got {}", T);
  return 10.0 * std::log(9.0) / double(T + 20);
}

// ---- adding ----

SequenceBatch adding_task(int64_t T, int64_t B, Generator* gen, DType dtype, Device device) {
  check_sizes("adding_task", T, 2, B, dtype);
  Generator& g = pick(gen);
  // the values in the batch's dtype, so the target is the sum of what the network reads
  const std::vector<double> values = rand({T, B}, dtype, kCPU, &g).to_vector<double>();
  const int64_t half = T / 2;
  const std::vector<int64_t> first = randint(0, half, {B}, kInt64, kCPU, &g).to_vector<int64_t>();
  const std::vector<int64_t> second = randint(half, T, {B}, kInt64, kCPU, &g).to_vector<int64_t>();

  std::vector<double> x(size_t(T * B * 2), 0.0), y(static_cast<size_t>(B));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t b = 0; b < B; ++b) x[size_t((t * B + b) * 2)] = values[size_t(t * B + b)];
  for (int64_t b = 0; b < B; ++b) {
    const int64_t p = first[size_t(b)], q = second[size_t(b)];
    x[size_t((p * B + b) * 2 + 1)] = 1.0;
    x[size_t((q * B + b) * 2 + 1)] = 1.0;
    y[size_t(b)] = values[size_t(p * B + b)] + values[size_t(q * B + b)];
  }
  SequenceBatch batch;
  batch.inputs = from_vector(x, {T, B, 2}, dtype, device);
  batch.targets = from_vector(y, {B, 1}, dtype, device);
  return batch;
}

double adding_baseline_loss() { return 1.0 / 6.0; }

// ---- copying ----

SequenceBatch copying_task(int64_t T, int64_t B, Generator* gen, DType dtype, Device device) {
  check_sizes("copying_task", T, 1, B, dtype);
  constexpr int64_t kData = 10, kMarker = 9;
  const int64_t steps = T + 20;
  const std::vector<int64_t> symbols = randint(1, 9, {B, kData}, kInt64, kCPU, &pick(gen)).to_vector<int64_t>();

  std::vector<int64_t> tokens(size_t(steps * B), 0), targets(size_t(steps * B), 0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < kData; ++k) {
      const int64_t s = symbols[size_t(b * kData + k)];
      tokens[size_t(k * B + b)] = s;
      targets[size_t((T + kData + k) * B + b)] = s;
    }
    tokens[size_t((T + kData - 1) * B + b)] = kMarker;
  }
  return class_per_step_batch(tokens, targets, steps, B, kCopyingInputSize, dtype, device);
}

double copying_baseline_loss(int64_t T) {
  NOVA_CHECK(T >= 1, "copying_baseline_loss: T must be >= 1, got {}", T);
  return 10.0 * std::log(8.0) / double(T + 20);
}

Tensor sequence_cross_entropy(const Tensor& logits, const Tensor& targets) {
  NOVA_CHECK(logits.dim() == 3, "sequence_cross_entropy: logits must be [steps, B, C], got {}",
             logits.shape().str());
  NOVA_CHECK(targets.dim() == 2 && targets.size(0) == logits.size(0) && targets.size(1) == logits.size(1),
             "sequence_cross_entropy: targets must be [steps, B] = [{}, {}], got {}", logits.size(0),
             logits.size(1), targets.shape().str());
  const int64_t rows = logits.size(0) * logits.size(1);
  return ops::cross_entropy(ops::reshape(logits, {rows, logits.size(2)}), ops::reshape(targets, {rows}));
}

}  // namespace nova::datasets
