// tests/test_threads.cpp: nova used from several threads at once. Each
// std::thread trains its own model with its own Generator; they share the
// CPU allocator's cache, the OpenMP runtime and every global of the library,
// so a race in any of them shows as results that differ from a run of the
// same models one after the other (and as a report when tools/sanitize.sh
// thread runs the [threads] cases under ThreadSanitizer).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "core/ops.h"
#include "models/mixture_gan_training.h"
#include "tests/test_util.h"

using namespace nova;

namespace {

// The 8-Gaussian GAN's training step (models/mixture_gan_training.h) with
// an aw D step, on a batch large enough that the hidden layers' elementwise
// ops split across OpenMP threads (kernels/cpu/loops.h).
std::vector<Tensor> train_gan(uint64_t seed, int steps) {
  models::MixtureGanTrainingOptions options;
  options.d_step.objective = nn::parse_gan_objective("bce");
  options.aw_algorithm = 1;
  options.batch = 256;
  models::MixtureGanTraining training(options, seed);
  for (int s = 0; s < steps; ++s) training.step();
  std::vector<Tensor> weights;
  for (const Tensor& p : training.generator()->parameters()) weights.push_back(p.detach().clone());
  for (const Tensor& p : training.discriminator()->parameters()) weights.push_back(p.detach().clone());
  return weights;
}

bool identical(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].shape() != b[i].shape() || test::max_abs_diff(a[i], b[i]) != 0) return false;
  return true;
}

}  // namespace

TEST_CASE("two threads training their own GANs at once match one after the other", "[threads]") {
  const int steps = 12;
  for (int omp_threads : {1, 2}) {
    INFO("OpenMP threads per training thread: " << omp_threads);
    std::vector<Tensor> seq_a, seq_b, par_a, par_b;
    std::thread([&] {
      omp_set_num_threads(omp_threads);
      seq_a = train_gan(1, steps);
      seq_b = train_gan(2, steps);
    }).join();
    std::thread ta([&] {
      omp_set_num_threads(omp_threads);
      par_a = train_gan(1, steps);
    });
    std::thread tb([&] {
      omp_set_num_threads(omp_threads);
      par_b = train_gan(2, steps);
    });
    ta.join();
    tb.join();
    REQUIRE(!identical(seq_a, seq_b));  // two different models, or the test shows nothing
    REQUIRE(identical(par_a, seq_a));
    REQUIRE(identical(par_b, seq_b));
  }
}

TEST_CASE("a parallel elementwise loop gives the serial loop's values", "[threads]") {
  Generator gen(5);
  // four times the grain of kernels/cpu/loops.h, so the loop really splits
  Tensor a = randn({4, 32768}, kFloat64, kCPU, &gen), b = randn({4, 32768}, kFloat64, kCPU, &gen);
  Tensor serial, parallel;
  std::thread([&] {
    omp_set_num_threads(1);
    serial = ops::tanh(a * b + a);
  }).join();
  std::thread([&] {
    omp_set_num_threads(4);
    parallel = ops::tanh(a * b + a);
  }).join();
  REQUIRE(test::max_abs_diff(serial, parallel) == 0);
}

TEST_CASE("threads drawing from the default generator at once get blocks of their own", "[threads]") {
  // Linear's default init draws from the shared default generator, so two
  // threads that build models at once draw from it together. The threads
  // start drawing together (a spin barrier): with the old non-atomic
  // `offset_ += n`, a copy of this loop handed out tens of thousands of
  // blocks twice in most runs on a 2-core machine.
  constexpr int kThreads = 4, kDraws = 100000;
  std::vector<std::vector<uint64_t>> starts(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&starts, &ready, t] {
      std::vector<uint64_t>& mine = starts[size_t(t)];
      mine.reserve(kDraws);
      ready.fetch_add(1);
      while (ready.load() < kThreads) std::this_thread::yield();
      for (int i = 0; i < kDraws; ++i) mine.push_back(default_generator().reserve(1));
    });
  for (auto& th : threads) th.join();
  std::vector<uint64_t> all;
  for (const auto& s : starts) all.insert(all.end(), s.begin(), s.end());
  std::sort(all.begin(), all.end());
  REQUIRE(std::adjacent_find(all.begin(), all.end()) == all.end());  // no block handed out twice
  REQUIRE(all.back() - all.front() == uint64_t(kThreads * kDraws - 1));
}
