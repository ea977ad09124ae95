// datasets/data_loader.h: DataLoader, mini-batches of an in-memory dataset
// (images [n, ...] and optional labels [n, ...], e.g. what read_cifar10
// returns): shuffled with a seed, batched, optionally without the last short
// batch, and assembled ahead on a background thread while the caller trains.
//
//   datasets::DataLoaderOptions opt;
//   opt.batch_size = 64;
//   opt.seed = 1;
//   datasets::DataLoader loader(data.images, data.labels, opt);
//   for (int64_t e = 0; e < epochs; ++e)
//     for (const datasets::Batch& batch : loader.epoch(e))
//       train_step(batch.images.to(device), batch.labels.to(device));
//
// or, without the range: loader.start_epoch(e); while (auto b = loader.next()) ...
//
// Order. Epoch e visits the rows in order(e): 0..n-1 without shuffle; with
// shuffle, the e-th permutation that nova::randperm draws from a fresh
// Generator(seed), computed directly (Philox is counter-based, so epoch e
// starts at block e * integer_blocks(n) without drawing the ones before).
// So the order depends only on (seed, epoch): the same in every run, a new
// one each epoch, and a run resumed at epoch e, batch b (epoch(e, b)) sees
// exactly the batches an unbroken run would.
//
// Batch k of an epoch holds rows order[k*B .. k*B + B) (B = batch_size); the
// last batch is short when B does not divide n, or left out with drop_last.
//
// Prefetch. With options.prefetch = p > 0, one worker thread (started with
// the loader, asleep between epochs) assembles batches in order and keeps up
// to p of them ready; next() hands them over. With p = 0 next() assembles the
// batch itself. Both give identical batches. An exception thrown while a
// batch is assembled (by the transform, or out of memory) reaches the caller
// from next() at that batch's turn, after the batches before it; the epoch
// then ends (next() returns nothing) until the next epoch is started.
// Starting an epoch discards whatever the previous one had ready; the
// destructor stops and joins the worker, even mid-epoch.
//
// One thread drives a loader (epoch, start_epoch, next); the worker is its
// own business.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/tensor.h"

namespace nova::datasets {

/// One mini-batch, its own copy of the rows (contiguous, on the CPU).
struct Batch {
  Tensor images;   ///< [b, ...] the rows' images, b <= batch_size
  Tensor labels;   ///< [b, ...] their labels; undefined when the loader has none
  Tensor indices;  ///< [b] int64: which dataset rows they are
  int64_t epoch = 0;
  int64_t index = 0;  ///< the batch's number within its epoch, from 0
};

struct DataLoaderOptions {
  int64_t batch_size = 64;
  /// visit the rows in a new random order each epoch (else 0..n-1)
  bool shuffle = true;
  /// the shuffle's seed: the same seed and epoch give the same order
  uint64_t seed = 0;
  /// leave out the last batch when it would be short
  bool drop_last = false;
  /// batches assembled ahead on a background thread; 0: no thread, next()
  /// assembles each batch itself
  int64_t prefetch = 2;
  /// Applied to each batch where it is assembled: on the worker thread when
  /// prefetching. It may change the batch (augment, crop); for random
  /// augmentation that is reproducible, seed a Generator of its own from
  /// batch.epoch and batch.index rather than drawing from the default one.
  std::function<void(Batch&)> transform;
};

class DataLoader {
 public:
  /// A loader over images [n, ...] and labels [n, ...] (any dtypes; labels
  /// may be undefined, then batches have none). Both must be on the CPU. The
  /// loader keeps the tensors (no copy when contiguous). Throws nova::Error
  /// "DataLoader: ..." when images are 0-d, the row counts differ, a tensor
  /// is on another device, batch_size < 1 or prefetch < 0.
  DataLoader(const Tensor& images, const Tensor& labels, DataLoaderOptions options = {});
  /// A loader over images alone (unlabelled data).
  explicit DataLoader(const Tensor& images, DataLoaderOptions options = {});
  /// Stops the worker (it finishes the batch it is assembling) and joins it.
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  /// The number of rows n.
  int64_t size() const { return rows_; }
  /// Batches in each epoch: ceil(n / batch_size), or floor with drop_last.
  int64_t batches_per_epoch() const;
  const DataLoaderOptions& options() const { return options_; }
  /// The rows in the order epoch `epoch` visits them (see the top of this
  /// file). Throws nova::Error for a negative epoch.
  std::vector<int64_t> order(int64_t epoch) const;

  class Epoch;
  /// Starts epoch `epoch` at batch `first_batch` (start_epoch) and returns a
  /// range over its batches for a range-for; one pass only.
  Epoch epoch(int64_t epoch, int64_t first_batch = 0);
  /// Starts epoch `epoch`: the next batch next() returns is its batch
  /// `first_batch` (0 to batches_per_epoch(); a resumed run passes where it
  /// stopped). Discards what a previous epoch left. Throws nova::Error for a
  /// negative epoch or a first_batch out of range.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  /// The next batch of the current epoch, or nothing when it is over.
  /// Rethrows an exception of the batch's assembly (see the top of this
  /// file). Throws nova::Error when no epoch has been started.
  std::optional<Batch> next();

 private:
  Batch assemble(const std::vector<int64_t>& order, int64_t epoch, int64_t index) const;
  void worker_loop();

  Tensor images_, labels_;  // contiguous, on the CPU
  int64_t rows_ = 0;
  DataLoaderOptions options_;

  // The epoch in progress; with prefetch, shared with the worker under mutex_.
  std::mutex mutex_;
  std::condition_variable work_;   // the worker waits here for room or an epoch
  std::condition_variable ready_;  // next() waits here for a batch
  bool started_ = false;           // an epoch has been started
  uint64_t generation_ = 0;        // counts start_epoch calls: a batch of an older one is dropped
  std::shared_ptr<const std::vector<int64_t>> order_;
  int64_t epoch_ = 0;
  int64_t next_build_ = 0;  // the worker's next batch
  int64_t next_take_ = 0;   // next()'s next batch
  int64_t end_ = 0;         // batches in the epoch
  std::deque<Batch> queue_;      // built, not yet taken, in order
  std::exception_ptr failure_;   // the assembly of batch next_build_ - 1 threw
  bool stop_ = false;
  std::thread worker_;
};

/// The range DataLoader::epoch returns: `for (const Batch& b : loader.epoch(e))`.
class DataLoader::Epoch {
 public:
  struct End {};
  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = Batch*;
    using reference = Batch&;

    explicit Iterator(DataLoader* loader) : loader_(loader), batch_(loader->next()) {}
    Batch& operator*() { return *batch_; }
    Batch* operator->() { return &*batch_; }
    Iterator& operator++() {
      batch_ = loader_->next();
      return *this;
    }
    bool operator!=(End) const { return batch_.has_value(); }
    bool operator==(End) const { return !batch_.has_value(); }

   private:
    DataLoader* loader_;
    std::optional<Batch> batch_;
  };

  explicit Epoch(DataLoader* loader) : loader_(loader) {}
  /// Takes the epoch's first batch (so call it once).
  Iterator begin() { return Iterator(loader_); }
  End end() const { return {}; }

 private:
  DataLoader* loader_;
};

}  // namespace nova::datasets
