// examples/parallel_runs.h: the trainers' --compare modes (gan_8gaussians,
// rnn_tasks) train many independent runs (models x seeds); this runs them
// `jobs` at a time, each on a thread of its own with its own OpenMP thread
// count. Every run draws from its own generators, so its numbers do not
// depend on how many run beside it; only its wall time does.
#pragma once

#include <omp.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/base/error.h"

namespace nova::examples {

/// Runs train(i) for i in [0, count), `jobs` at a time (at least 1), each
/// thread with omp_set_num_threads(threads) when threads > 0, and returns
/// the results in index order. done(i, result) is called as each run ends,
/// one call at a time (for a progress line). The first run that throws
/// stops the others from starting new runs, and its error is rethrown here
/// as nova::Error prefixed with label(i).
template <typename Result, typename Train, typename Done, typename Label>
std::vector<Result> run_in_parallel(size_t count, int64_t jobs, int64_t threads, Train train, Done done,
                                    Label label) {
  std::vector<Result> results(count);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::string first_error;
  auto worker = [&] {
    if (threads > 0) omp_set_num_threads(int(threads));  // this thread's OpenMP teams
    for (size_t i = next++; i < count && !failed; i = next++) {
      try {
        results[i] = train(i);
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!failed.exchange(true)) first_error = fmt::format("{}: {}", label(i), e.what());
        return;
      }
      std::lock_guard<std::mutex> lock(mutex);
      done(i, results[i]);
    }
  };
  std::vector<std::thread> pool;
  const int64_t n = std::max<int64_t>(1, std::min<int64_t>(jobs, int64_t(count)));
  for (int64_t t = 0; t < n; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  if (failed) fail("{}", first_error);
  return results;
}

}  // namespace nova::examples
