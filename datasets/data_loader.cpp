// datasets/data_loader.cpp: DataLoader (behaviour in datasets/data_loader.h).
// A batch is assembled by one function, assemble(), whichever thread calls
// it; the worker and next() only decide who calls it and when, through one
// mutex and two condition variables. A generation number tells the worker
// that the epoch it was building for has been replaced while it worked.
#include "datasets/data_loader.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <utility>

#include "core/base/error.h"
#include "core/base/philox.h"
#include "core/factory.h"
#include "core/random.h"

namespace nova::datasets {

namespace {

void check_cpu(const char* what, const Tensor& t) {
  NOVA_CHECK(t.is_cpu(),
             "DataLoader: {} must be on the CPU (batches are assembled there; move each batch "
             "with .to(device)), got {}", what, t.device().str());
}

// Rows `rows` of `src` (contiguous [n, ...]) as a new tensor [rows.size(), ...].
Tensor gather_rows(const Tensor& src, const int64_t* rows, int64_t count) {
  Shape shape = src.shape();
  shape[0] = count;
  Tensor out = empty(shape, src.dtype());
  size_t row_bytes = dtype_size(src.dtype());
  for (int d = 1; d < src.dim(); ++d) row_bytes *= size_t(src.size(d));
  const auto* from = static_cast<const uint8_t*>(src.raw_data());
  auto* to = static_cast<uint8_t*>(out.raw_data());
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(to + size_t(i) * row_bytes, from + size_t(rows[i]) * row_bytes, row_bytes);
  return out;
}

}  // namespace

DataLoader::DataLoader(const Tensor& images, const Tensor& labels, DataLoaderOptions options)
    : options_(std::move(options)) {
  NOVA_CHECK(images.defined(), "DataLoader: images are undefined");
  NOVA_CHECK(images.dim() >= 1, "DataLoader: images must be [n, ...], got a 0-d tensor");
  check_cpu("images", images);
  rows_ = images.size(0);
  if (labels.defined()) {
    NOVA_CHECK(labels.dim() >= 1, "DataLoader: labels must be [n, ...], got a 0-d tensor");
    NOVA_CHECK(labels.size(0) == rows_,
               "DataLoader: labels must have one row per image: images {}, labels {}",
               images.shape().str(), labels.shape().str());
    check_cpu("labels", labels);
  }
  NOVA_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be >= 1, got {}",
             options_.batch_size);
  NOVA_CHECK(options_.prefetch >= 0, "DataLoader: prefetch must be >= 0 (0: no thread), got {}",
             options_.prefetch);
  // detached: a batch is data, never part of a graph that reaches the dataset
  images_ = images.detach().contiguous();
  if (labels.defined()) labels_ = labels.detach().contiguous();
  if (options_.prefetch > 0) worker_ = std::thread([this] { worker_loop(); });
}

DataLoader::DataLoader(const Tensor& images, DataLoaderOptions options)
    : DataLoader(images, Tensor(), std::move(options)) {}

DataLoader::~DataLoader() {
  if (!worker_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_.notify_all();
  worker_.join();
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? rows_ / b : (rows_ + b - 1) / b;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
  NOVA_CHECK(epoch >= 0, "DataLoader::order: epoch must be >= 0, got {}", epoch);
  std::vector<int64_t> rows(size_t(rows_), 0);
  if (!options_.shuffle) {
    std::iota(rows.begin(), rows.end(), int64_t{0});
    return rows;
  }
  // randperm(n) takes integer_blocks(n) blocks of its generator: epoch e
  // starts where e earlier permutations would have left a fresh Generator(seed)
  Generator gen(options_.seed);
  gen.set_offset(uint64_t(epoch) * integer_blocks(rows_));
  const Tensor perm = randperm(rows_, kCPU, &gen);
  std::memcpy(rows.data(), perm.data<int64_t>(), rows.size() * sizeof(int64_t));
  return rows;
}

DataLoader::Epoch DataLoader::epoch(int64_t epoch, int64_t first_batch) {
  start_epoch(epoch, first_batch);
  return Epoch(this);
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  NOVA_CHECK(epoch >= 0, "DataLoader::start_epoch: epoch must be >= 0, got {}", epoch);
  const int64_t batches = batches_per_epoch();
  NOVA_CHECK(first_batch >= 0 && first_batch <= batches,
             "DataLoader::start_epoch: first_batch must be in 0..{} (the batches of an epoch), "
             "got {}", batches, first_batch);
  auto rows = std::make_shared<const std::vector<int64_t>>(order(epoch));
  std::deque<Batch> stale;  // freed after the lock is let go
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    started_ = true;
    order_ = std::move(rows);
    epoch_ = epoch;
    next_build_ = next_take_ = first_batch;
    end_ = batches;
    stale.swap(queue_);
    failure_ = nullptr;
  }
  work_.notify_all();
}

std::optional<Batch> DataLoader::next() {
  if (options_.prefetch == 0) {
    NOVA_CHECK(started_, "DataLoader::next: no epoch started; call epoch(e) or start_epoch(e) first");
    if (next_take_ >= end_) return std::nullopt;
    try {
      Batch batch = assemble(*order_, epoch_, next_take_);
      ++next_take_;
      return batch;
    } catch (...) {
      next_take_ = end_;  // as with prefetch: a failure ends the epoch
      throw;
    }
  }
  std::unique_lock<std::mutex> lock(mutex_);
  NOVA_CHECK(started_, "DataLoader::next: no epoch started; call epoch(e) or start_epoch(e) first");
  ready_.wait(lock, [&] { return !queue_.empty() || failure_ || next_take_ >= end_; });
  if (!queue_.empty()) {
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    ++next_take_;
    lock.unlock();
    work_.notify_one();  // room for one more
    return batch;
  }
  if (failure_) {
    // the batches before the failed one have all been taken: its turn
    std::exception_ptr failure = std::exchange(failure_, nullptr);
    next_take_ = next_build_ = end_;
    std::rethrow_exception(failure);
  }
  return std::nullopt;
}

Batch DataLoader::assemble(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const {
  const int64_t first = index * options_.batch_size;
  const int64_t count = std::min(options_.batch_size, rows_ - first);
  Batch batch;
  batch.epoch = epoch;
  batch.index = index;
  batch.indices = empty({count}, kInt64);
  std::memcpy(batch.indices.data<int64_t>(), order.data() + first, size_t(count) * sizeof(int64_t));
  batch.images = gather_rows(images_, order.data() + first, count);
  if (labels_.defined()) batch.labels = gather_rows(labels_, order.data() + first, count);
  if (options_.transform) options_.transform(batch);
  return batch;
}

void DataLoader::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_.wait(lock, [&] {
      return stop_ || (started_ && !failure_ && next_build_ < end_ &&
                       int64_t(queue_.size()) < options_.prefetch);
    });
    if (stop_) return;
    const uint64_t generation = generation_;
    const std::shared_ptr<const std::vector<int64_t>> order = order_;
    const int64_t epoch = epoch_, index = next_build_++;
    lock.unlock();
    std::optional<Batch> batch;
    std::exception_ptr failure;
    try {
      batch = assemble(*order, epoch, index);
    } catch (...) {
      failure = std::current_exception();
    }
    lock.lock();
    if (generation != generation_) continue;  // a new epoch started meanwhile
    if (failure)
      failure_ = failure;
    else
      queue_.push_back(std::move(*batch));
    ready_.notify_one();
  }
}

}  // namespace nova::datasets
