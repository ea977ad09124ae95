// tests/test_rnn_tasks.cpp: the parenthesis, denoise, adding and copying
// generators (datasets/rnn_tasks.h). Each test reads the symbols back from
// the one-hot inputs and recomputes the targets by its own plain loop over
// the task's definition; also shapes, ranges, determinism for a seed, fresh
// batches on successive calls, the baseline losses, and bad arguments.
#include <cmath>
#include <set>
#include <vector>

#include "datasets/rnn_tasks.h"
#include "tests/test_util.h"

using namespace nova;
using nova::test::values;

namespace {

/// The symbol of each (t, b) read back from one-hot inputs [steps, B, C];
/// REQUIREs that every row is one-hot.
std::vector<int64_t> decode_one_hot(const Tensor& inputs) {
  REQUIRE(inputs.dim() == 3);
  const int64_t rows = inputs.size(0) * inputs.size(1), C = inputs.size(2);
  const std::vector<double> x = values(inputs);
  std::vector<int64_t> symbols(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    int64_t ones = 0, which = -1;
    for (int64_t c = 0; c < C; ++c) {
      const double v = x[size_t(r * C + c)];
      REQUIRE((v == 0.0 || v == 1.0));
      if (v == 1.0) ++ones, which = c;
    }
    REQUIRE(ones == 1);
    symbols[size_t(r)] = which;
  }
  return symbols;
}

std::vector<int64_t> ints(const Tensor& t) { return t.to_vector<int64_t>(); }

bool same_batch(const datasets::SequenceBatch& a, const datasets::SequenceBatch& b) {
  return values(a.inputs) == values(b.inputs) && values(a.targets) == values(b.targets);
}

}  // namespace

TEST_CASE("parenthesis: one-hot ()[]{}a inputs, saturating counts in [0, 5], one-hot targets", "[rnn_tasks]") {
  const int64_t T = 60, B = 9;
  Generator gen(11);
  const auto batch = datasets::parenthesis_task(T, B, &gen);
  REQUIRE(batch.inputs.shape() == Shape({T, B, 7}));
  REQUIRE(batch.inputs.dtype() == kFloat32);
  REQUIRE(batch.targets.shape() == Shape({T, B, 18}));
  REQUIRE(batch.labels.shape() == Shape({T, B, 3}));
  REQUIRE(batch.tokens.shape() == Shape({T, B}));

  const std::vector<int64_t> tokens = decode_one_hot(batch.inputs);
  REQUIRE(ints(batch.tokens) == tokens);
  // recompute: ( [ { are 0 2 4 and open; ) ] } are 1 3 5 and close; 'a' (6) is noise
  const std::vector<int64_t> labels = ints(batch.labels);
  const std::vector<double> targets = values(batch.targets);
  bool saw_five = false;
  for (int64_t b = 0; b < B; ++b) {
    int64_t count[3] = {0, 0, 0};
    for (int64_t t = 0; t < T; ++t) {
      const int64_t s = tokens[size_t(t * B + b)];
      if (s == 0 && count[0] < 5) count[0]++;
      if (s == 1 && count[0] > 0) count[0]--;
      if (s == 2 && count[1] < 5) count[1]++;
      if (s == 3 && count[1] > 0) count[1]--;
      if (s == 4 && count[2] < 5) count[2]++;
      if (s == 5 && count[2] > 0) count[2]--;
      for (int64_t k = 0; k < 3; ++k) {
        INFO("t " << t << " b " << b << " type " << k);
        REQUIRE(labels[size_t((t * B + b) * 3 + k)] == count[k]);
        saw_five = saw_five || count[k] == 5;
        for (int64_t c = 0; c < 6; ++c)
          REQUIRE(targets[size_t((t * B + b) * 18 + k * 6 + c)] == (c == count[k] ? 1.0 : 0.0));
      }
    }
  }
  CHECK(saw_five);  // the clip is exercised at this length

  // every symbol of the alphabet occurs
  CHECK(std::set<int64_t>(tokens.begin(), tokens.end()) == std::set<int64_t>{0, 1, 2, 3, 4, 5, 6});
  // the loss is MSE to the targets: zero at the targets; all-zero outputs miss 3 ones of 18
  CHECK(datasets::parenthesis_loss(batch.targets, batch).item<double>() == 0.0);
  CHECK(datasets::parenthesis_loss(zeros_like(batch.targets), batch).item<double>() == Approx(3.0 / 18));
  CHECK_THROWS_WITH(datasets::parenthesis_loss(zeros({T, B, 17}), batch),
                    Catch::Contains("parenthesis_loss: outputs must have the targets' shape [60, 9, 18]"));
}

TEST_CASE("parenthesis: GORU's alphabet (10 types, 10 noise symbols, counts to 10) and float64", "[rnn_tasks]") {
  const auto o = datasets::ParenthesisOptions::goru();
  CHECK(o.input_size() == 30);
  CHECK(o.output_size() == 110);
  Generator gen(5);
  const auto batch = datasets::parenthesis_task(40, 3, &gen, o, kFloat64);
  REQUIRE(batch.inputs.shape() == Shape({40, 3, 30}));
  REQUIRE(batch.inputs.dtype() == kFloat64);
  REQUIRE(batch.targets.shape() == Shape({40, 3, 110}));
  REQUIRE(batch.targets.dtype() == kFloat64);
  const std::vector<int64_t> tokens = decode_one_hot(batch.inputs);
  const std::vector<int64_t> labels = ints(batch.labels);
  for (int64_t b = 0; b < 3; ++b) {
    std::vector<int64_t> count(10, 0);
    for (int64_t t = 0; t < 40; ++t) {
      const int64_t s = tokens[size_t(t * 3 + b)];
      if (s < 20 && s % 2 == 0) count[size_t(s / 2)] = std::min<int64_t>(10, count[size_t(s / 2)] + 1);
      if (s < 20 && s % 2 == 1) count[size_t(s / 2)] = std::max<int64_t>(0, count[size_t(s / 2)] - 1);
      for (int64_t k = 0; k < 10; ++k) REQUIRE(labels[size_t((t * 3 + b) * 10 + k)] == count[size_t(k)]);
    }
  }
}

TEST_CASE("denoise: 10 digits at distinct steps before the marker at T+9, targets them in order", "[rnn_tasks]") {
  const int64_t T = 30, B = 40, steps = T + 20;
  Generator gen(3);
  const auto batch = datasets::denoise_task(T, B, &gen);
  REQUIRE(batch.inputs.shape() == Shape({steps, B, 11}));
  REQUIRE(batch.targets.shape() == Shape({steps, B}));
  REQUIRE(batch.targets.dtype() == kInt64);
  const std::vector<int64_t> tokens = decode_one_hot(batch.inputs);
  REQUIRE(ints(batch.tokens) == tokens);
  const std::vector<int64_t> targets = ints(batch.targets);
  std::set<int64_t> digits_seen;
  for (int64_t b = 0; b < B; ++b) {
    INFO("sample " << b);
    std::vector<int64_t> data;  // the digits in the order they come
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t s = tokens[size_t(t * B + b)];
      if (t == T + 9) {
        REQUIRE(s == 10);  // the marker, once, here
      } else {
        REQUIRE(s >= 0);
        REQUIRE(s <= 9);
        if (s != 0) {
          REQUIRE(t < T + 9);  // data only in the first T + 9 steps
          data.push_back(s);
          digits_seen.insert(s);
        }
      }
    }
    REQUIRE(data.size() == 10);  // distinct positions: no digit overwritten
    for (int64_t t = 0; t < steps; ++t)
      REQUIRE(targets[size_t(t * B + b)] == (t < T + 10 ? 0 : data[size_t(t - T - 10)]));
  }
  CHECK(digits_seen == std::set<int64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9});

  // the positions cover the whole range 0..T+8, the first and the last included
  Generator gen2(4);
  const auto big = datasets::denoise_task(1, 200, &gen2);  // T = 1: 10 data among 10 slots
  const std::vector<int64_t> tb = ints(big.tokens);
  for (int64_t b = 0; b < 200; ++b)
    for (int64_t t = 0; t < 10; ++t) REQUIRE(tb[size_t(t * 200 + b)] != 0);
}

TEST_CASE("adding: uniform values, one mark in each half, target their sum", "[rnn_tasks]") {
  const int64_t T = 25, B = 64;  // odd T: the halves are [0, 12) and [12, 25)
  Generator gen(21);
  const auto batch = datasets::adding_task(T, B, &gen, kFloat64);
  REQUIRE(batch.inputs.shape() == Shape({T, B, 2}));
  REQUIRE(batch.targets.shape() == Shape({B, 1}));
  REQUIRE(!batch.tokens.defined());
  const std::vector<double> x = values(batch.inputs), y = values(batch.targets);
  bool first_at_edges[2] = {false, false};
  for (int64_t b = 0; b < B; ++b) {
    INFO("sample " << b);
    std::vector<int64_t> marks;
    double sum = 0;
    for (int64_t t = 0; t < T; ++t) {
      const double v = x[size_t((t * B + b) * 2)], m = x[size_t((t * B + b) * 2 + 1)];
      REQUIRE(v >= 0.0);
      REQUIRE(v < 1.0);
      REQUIRE((m == 0.0 || m == 1.0));
      if (m == 1.0) {
        marks.push_back(t);
        sum += v;
      }
    }
    REQUIRE(marks.size() == 2);
    REQUIRE(marks[0] < T / 2);
    REQUIRE(marks[1] >= T / 2);
    first_at_edges[0] = first_at_edges[0] || marks[0] == 0;
    first_at_edges[1] = first_at_edges[1] || marks[1] == T - 1;
    REQUIRE(y[size_t(b)] == sum);
  }
  CHECK(first_at_edges[0]);  // both ends of the range are reached
  CHECK(first_at_edges[1]);

  // float32: the target is the sum of the float32 values the network reads
  Generator gen32(21);
  const auto b32 = datasets::adding_task(T, B, &gen32);
  REQUIRE(b32.inputs.dtype() == kFloat32);
  const std::vector<double> x32 = values(b32.inputs), y32 = values(b32.targets);
  for (int64_t b = 0; b < B; ++b) {
    double sum = 0;
    for (int64_t t = 0; t < T; ++t)
      if (x32[size_t((t * B + b) * 2 + 1)] == 1.0) sum += x32[size_t((t * B + b) * 2)];
    REQUIRE(y32[size_t(b)] == Approx(sum).epsilon(1e-6));
  }

  // the baseline: always answering 1 scores about 1/6
  CHECK(datasets::adding_baseline_loss() == Approx(0.1667).margin(1e-4));
  Generator gen_big(8);
  const auto big = datasets::adding_task(4, 20000, &gen_big, kFloat64);
  const double mse = ops::mse_loss(ones_like(big.targets), big.targets).item<double>();
  CHECK(mse == Approx(1.0 / 6).margin(0.01));
}

TEST_CASE("copying: 10 symbols of 1..8, T-1 blanks, marker, 10 blanks; target the symbols last", "[rnn_tasks]") {
  const int64_t T = 15, B = 12, steps = T + 20;
  Generator gen(9);
  const auto batch = datasets::copying_task(T, B, &gen);
  REQUIRE(batch.inputs.shape() == Shape({steps, B, 10}));
  REQUIRE(batch.targets.shape() == Shape({steps, B}));
  const std::vector<int64_t> tokens = decode_one_hot(batch.inputs);
  REQUIRE(ints(batch.tokens) == tokens);
  const std::vector<int64_t> targets = ints(batch.targets);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t s = tokens[size_t(t * B + b)];
      if (t < 10) {
        REQUIRE(s >= 1);
        REQUIRE(s <= 8);
      } else {
        REQUIRE(s == (t == T + 9 ? 9 : 0));
      }
      REQUIRE(targets[size_t(t * B + b)] == (t < T + 10 ? 0 : tokens[size_t((t - T - 10) * B + b)]));
    }
  }
}

TEST_CASE("copying and denoise baselines: blank, then a uniform guess, scores 10 log K / (T + 20)", "[rnn_tasks]") {
  CHECK(datasets::copying_baseline_loss(100) == Approx(10 * std::log(8.0) / 120));
  CHECK(datasets::denoise_baseline_loss(200) == Approx(10 * std::log(9.0) / 220));
  // logits of that strategy: class 0 certain (up to e^-40) before the
  // outputs, uniform over the K data classes after
  for (int task = 0; task < 2; ++task) {
    const int64_t T = 12, B = 5, steps = T + 20;
    Generator gen(1);
    const auto batch = task == 0 ? datasets::copying_task(T, B, &gen) : datasets::denoise_task(T, B, &gen);
    const int64_t C = task == 0 ? datasets::kCopyingClasses : datasets::kDenoiseClasses;
    std::vector<double> logits(size_t(steps * B * C), -40.0);
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t b = 0; b < B; ++b)
        for (int64_t c = 0; c < C; ++c) {
          const bool on = t < T + 10 ? c == 0 : c != 0;
          if (on) logits[size_t((t * B + b) * C + c)] = 0.0;
        }
    const double loss =
        datasets::sequence_cross_entropy(from_vector(logits, {steps, B, C}, kFloat64), batch.targets).item<double>();
    const double baseline = task == 0 ? datasets::copying_baseline_loss(T) : datasets::denoise_baseline_loss(T);
    CHECK(loss == Approx(baseline).epsilon(1e-9));
  }
}

TEST_CASE("rnn tasks: a seed gives the same batch, successive calls new ones", "[rnn_tasks]") {
  auto make = [](int task, Generator* g) {
    switch (task) {
      case 0: return datasets::parenthesis_task(20, 4, g);
      case 1: return datasets::denoise_task(10, 4, g);
      case 2: return datasets::adding_task(20, 4, g);
      default: return datasets::copying_task(10, 4, g);
    }
  };
  for (int task = 0; task < 4; ++task) {
    INFO("task " << task);
    Generator a(42), b(42), c(43);
    const auto a1 = make(task, &a), a2 = make(task, &a);
    const auto b1 = make(task, &b), b2 = make(task, &b);
    CHECK(same_batch(a1, b1));
    CHECK(same_batch(a2, b2));
    CHECK_FALSE(same_batch(a1, a2));
    CHECK_FALSE(same_batch(a1, make(task, &c)));
    // no generator: the default one, which moves on too
    CHECK_FALSE(same_batch(make(task, nullptr), make(task, nullptr)));
  }
}

TEST_CASE("rnn tasks refuse bad arguments", "[rnn_tasks]") {
  Generator gen(1);
  CHECK_THROWS_WITH(datasets::parenthesis_task(0, 4, &gen), Catch::Contains("parenthesis_task: T must be >= 1, got 0"));
  CHECK_THROWS_WITH(datasets::parenthesis_task(5, 0, &gen),
                    Catch::Contains("parenthesis_task: batch size B must be >= 1, got 0"));
  datasets::ParenthesisOptions o;
  o.max_count = 0;
  CHECK_THROWS_WITH(datasets::parenthesis_task(5, 2, &gen, o), Catch::Contains("max_count must be >= 1, got 0"));
  o = {};
  o.bracket_types = 0;
  CHECK_THROWS_WITH(datasets::parenthesis_task(5, 2, &gen, o), Catch::Contains("bracket_types must be >= 1"));
  o = {};
  o.noise_symbols = -1;
  CHECK_THROWS_WITH(datasets::parenthesis_task(5, 2, &gen, o), Catch::Contains("noise_symbols must be >= 0"));
  CHECK_THROWS_WITH(datasets::parenthesis_task(5, 2, &gen, {}, kInt64),
                    Catch::Contains("parenthesis_task: dtype must be float32 or float64, got int64"));
  CHECK_THROWS_WITH(datasets::denoise_task(0, 2, &gen), Catch::Contains("denoise_task: T must be >= 1, got 0"));
  CHECK_THROWS_WITH(datasets::denoise_task(3, -1, &gen), Catch::Contains("batch size B must be >= 1, got -1"));
  CHECK_THROWS_WITH(datasets::adding_task(1, 2, &gen), Catch::Contains("adding_task: T must be >= 2, got 1"));
  CHECK_THROWS_WITH(datasets::copying_task(0, 2, &gen), Catch::Contains("copying_task: T must be >= 1, got 0"));
  CHECK_THROWS_WITH(datasets::copying_baseline_loss(0), Catch::Contains("copying_baseline_loss: T must be >= 1"));
  CHECK_THROWS_WITH(datasets::denoise_baseline_loss(-3), Catch::Contains("denoise_baseline_loss: T must be >= 1"));
  CHECK_THROWS_WITH(datasets::sequence_cross_entropy(zeros({3, 2}), zeros({3, 2}, kInt64)),
                    Catch::Contains("sequence_cross_entropy: logits must be [steps, B, C], got [3, 2]"));
  CHECK_THROWS_WITH(datasets::sequence_cross_entropy(zeros({3, 2, 4}), zeros({3, 3}, kInt64)),
                    Catch::Contains("sequence_cross_entropy: targets must be [steps, B] = [3, 2], got [3, 3]"));
}
