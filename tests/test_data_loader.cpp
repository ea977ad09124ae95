// tests/test_data_loader.cpp: DataLoader (datasets/data_loader.h). The
// dataset is made so that row i's image and label both encode i, so every
// batch can be checked against the rows its indices name. Every claim is
// checked with the prefetch thread and without, and the two must give
// identical batches. The cases that run the thread are tagged [threads] too,
// so tools/sanitize.sh thread runs them under ThreadSanitizer.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "core/random.h"
#include "datasets/data_loader.h"
#include "test_util.h"

using namespace nova;
using namespace nova::datasets;
using Catch::Matchers::Contains;

namespace {

// n rows: images [n, 2, 3] float32 with row i = 100 i + (0..5); labels [n] int64 = 7 i.
struct Rows {
  Tensor images, labels;
};

Rows make_rows(int64_t n) {
  std::vector<float> img;
  std::vector<int64_t> lab;
  for (int64_t i = 0; i < n; ++i) {
    for (int j = 0; j < 6; ++j) img.push_back(float(100 * i + j));
    lab.push_back(7 * i);
  }
  return {from_vector(img, {n, 2, 3}), from_vector(lab, {n})};
}

DataLoaderOptions opts(int64_t batch, uint64_t seed, bool drop_last, int64_t prefetch,
                       bool shuffle = true) {
  DataLoaderOptions o;
  o.batch_size = batch;
  o.seed = seed;
  o.drop_last = drop_last;
  o.prefetch = prefetch;
  o.shuffle = shuffle;
  return o;
}

// REQUIREs that the batch's images and labels are the rows its indices name.
void check_rows(const Batch& b) {
  const std::vector<int64_t> idx = b.indices.to_vector<int64_t>();
  const int64_t n = int64_t(idx.size());
  REQUIRE(b.images.shape() == Shape{n, 2, 3});
  const std::vector<float> img = b.images.to_vector<float>();
  for (int64_t r = 0; r < n; ++r)
    for (int j = 0; j < 6; ++j) REQUIRE(img[size_t(r * 6 + j)] == float(100 * idx[size_t(r)] + j));
  if (b.labels.defined()) {
    REQUIRE(b.labels.shape() == Shape{n});
    const std::vector<int64_t> lab = b.labels.to_vector<int64_t>();
    for (int64_t r = 0; r < n; ++r) REQUIRE(lab[size_t(r)] == 7 * idx[size_t(r)]);
  }
}

// All batches of one epoch, through the range-for.
std::vector<Batch> run_epoch(DataLoader& loader, int64_t epoch) {
  std::vector<Batch> out;
  for (Batch& b : loader.epoch(epoch)) out.push_back(b);
  return out;
}

std::vector<int64_t> indices_of(const std::vector<Batch>& batches) {
  std::vector<int64_t> all;
  for (const Batch& b : batches)
    for (int64_t i : b.indices.to_vector<int64_t>()) all.push_back(i);
  return all;
}

}  // namespace

TEST_CASE("DataLoader: every row exactly once per epoch, batches hold the rows they name",
          "[data_loader][threads]") {
  const Rows rows = make_rows(103);
  for (int64_t prefetch : {0, 1, 3}) {
    INFO("prefetch " << prefetch);
    DataLoader loader(rows.images, rows.labels, opts(10, 5, false, prefetch));
    REQUIRE(loader.size() == 103);
    REQUIRE(loader.batches_per_epoch() == 11);
    for (int64_t e = 0; e < 3; ++e) {
      const std::vector<Batch> batches = run_epoch(loader, e);
      REQUIRE(batches.size() == 11);
      for (size_t k = 0; k < batches.size(); ++k) {
        CHECK(batches[k].epoch == e);
        CHECK(batches[k].index == int64_t(k));
        CHECK(batches[k].indices.numel() == (k < 10 ? 10 : 3));
        check_rows(batches[k]);
      }
      const std::vector<int64_t> all = indices_of(batches);
      CHECK(all == loader.order(e));
      CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 103);
      CHECK(*std::min_element(all.begin(), all.end()) == 0);
      CHECK(*std::max_element(all.begin(), all.end()) == 102);
    }
  }
}

TEST_CASE("DataLoader: drop_last leaves out the short batch; no shuffle is 0..n-1",
          "[data_loader]") {
  const Rows rows = make_rows(103);
  for (int64_t prefetch : {0, 2}) {
    INFO("prefetch " << prefetch);
    DataLoader drop(rows.images, rows.labels, opts(10, 1, true, prefetch));
    CHECK(drop.batches_per_epoch() == 10);
    const std::vector<Batch> batches = run_epoch(drop, 0);
    REQUIRE(batches.size() == 10);
    const std::vector<int64_t> all = indices_of(batches);
    CHECK(all.size() == 100);
    CHECK(std::set<int64_t>(all.begin(), all.end()).size() == 100);
    // the 3 left out are the last 3 of the epoch's order
    const std::vector<int64_t> order = drop.order(0);
    CHECK(all == std::vector<int64_t>(order.begin(), order.begin() + 100));

    DataLoader exact(rows.images, rows.labels, opts(103, 1, true, prefetch));
    CHECK(run_epoch(exact, 0).size() == 1);
    DataLoader too_big(rows.images, rows.labels, opts(104, 1, true, prefetch));
    CHECK(too_big.batches_per_epoch() == 0);
    CHECK(run_epoch(too_big, 0).empty());
    DataLoader keep(rows.images, rows.labels, opts(104, 1, false, prefetch));
    CHECK(run_epoch(keep, 0).size() == 1);

    DataLoader plain(rows.images, rows.labels, opts(25, 1, false, prefetch, false));
    std::vector<int64_t> identity(103);
    std::iota(identity.begin(), identity.end(), 0);
    CHECK(indices_of(run_epoch(plain, 4)) == identity);
  }
}

TEST_CASE("DataLoader: the same seed and epoch give the same order, another epoch or seed another",
          "[data_loader]") {
  const Rows rows = make_rows(50);
  DataLoader a(rows.images, rows.labels, opts(8, 42, false, 2));
  DataLoader b(rows.images, rows.labels, opts(8, 42, false, 0));
  DataLoader c(rows.images, rows.labels, opts(8, 43, false, 2));
  // epochs visited out of order: the order depends on (seed, epoch) alone
  const std::vector<int64_t> a3 = indices_of(run_epoch(a, 3));
  const std::vector<int64_t> a0 = indices_of(run_epoch(a, 0));
  CHECK(indices_of(run_epoch(b, 0)) == a0);
  CHECK(indices_of(run_epoch(b, 3)) == a3);
  CHECK(indices_of(run_epoch(a, 3)) == a3);
  CHECK(a0 != a3);
  CHECK(indices_of(run_epoch(c, 0)) != a0);
  // epoch e is the e-th randperm a fresh Generator(seed) draws
  Generator gen(42);
  for (int64_t e = 0; e < 4; ++e) {
    INFO("epoch " << e);
    CHECK(randperm(50, kCPU, &gen).to_vector<int64_t>() == a.order(e));
  }
}

TEST_CASE("DataLoader: prefetch on and off give identical batches, bit for bit", "[data_loader][threads]") {
  const Rows rows = make_rows(37);
  // a transform that changes the batch, so that it is part of what is compared
  DataLoaderOptions base = opts(6, 9, false, 0);
  base.transform = [](Batch& b) { b.images = b.images * 0.5 + double(b.index); };
  DataLoaderOptions ahead = base;
  ahead.prefetch = 4;
  DataLoader off(rows.images, rows.labels, base);
  DataLoader on(rows.images, rows.labels, ahead);
  for (int64_t e = 0; e < 2; ++e) {
    const std::vector<Batch> x = run_epoch(off, e), y = run_epoch(on, e);
    REQUIRE(x.size() == y.size());
    for (size_t k = 0; k < x.size(); ++k) {
      INFO("epoch " << e << " batch " << k);
      CHECK(x[k].indices.to_vector<int64_t>() == y[k].indices.to_vector<int64_t>());
      CHECK(x[k].images.to_vector<float>() == y[k].images.to_vector<float>());
      CHECK(x[k].labels.to_vector<int64_t>() == y[k].labels.to_vector<int64_t>());
    }
  }
}

TEST_CASE("DataLoader: next() and resuming at a batch", "[data_loader][threads]") {
  const Rows rows = make_rows(30);
  for (int64_t prefetch : {0, 2}) {
    INFO("prefetch " << prefetch);
    DataLoader loader(rows.images, rows.labels, opts(4, 3, false, prefetch));
    CHECK_THROWS_WITH(loader.next(), Contains("DataLoader::next: no epoch started"));
    const std::vector<Batch> whole = run_epoch(loader, 2);
    // stop after 3 batches, start another epoch, come back at batch 3
    loader.start_epoch(2);
    for (int i = 0; i < 3; ++i) REQUIRE(loader.next());
    loader.start_epoch(5);
    REQUIRE(loader.next()->epoch == 5);
    loader.start_epoch(2, 3);
    std::vector<Batch> rest;
    while (auto b = loader.next()) rest.push_back(*b);
    REQUIRE(rest.size() == whole.size() - 3);
    for (size_t k = 0; k < rest.size(); ++k) {
      CHECK(rest[k].index == int64_t(k + 3));
      CHECK(rest[k].indices.to_vector<int64_t>() == whole[k + 3].indices.to_vector<int64_t>());
      check_rows(rest[k]);
    }
    // past the end, next() keeps answering nothing
    CHECK_FALSE(loader.next());
    CHECK_FALSE(loader.next());
    loader.start_epoch(0, loader.batches_per_epoch());
    CHECK_FALSE(loader.next());
  }
}

TEST_CASE("DataLoader: an exception while assembling a batch reaches the caller at its turn",
          "[data_loader][threads]") {
  const Rows rows = make_rows(40);
  for (int64_t prefetch : {0, 1, 3}) {
    INFO("prefetch " << prefetch);
    DataLoaderOptions o = opts(5, 1, false, prefetch);
    o.transform = [](Batch& b) {
      if (b.epoch == 1 && b.index == 3) throw Error("augment: batch 3 is cursed");
    };
    DataLoader loader(rows.images, rows.labels, o);
    CHECK(run_epoch(loader, 0).size() == 8);  // epoch 0 is fine
    loader.start_epoch(1);
    for (int i = 0; i < 3; ++i) {
      auto b = loader.next();
      REQUIRE(b);
      CHECK(b->index == i);
      check_rows(*b);
    }
    CHECK_THROWS_WITH(loader.next(), "augment: batch 3 is cursed");
    // the epoch is over; the next one runs
    CHECK_FALSE(loader.next());
    CHECK(run_epoch(loader, 2).size() == 8);
    // and through the range-for the exception leaves the loop
    std::vector<int64_t> seen;
    CHECK_THROWS_AS([&] { for (const Batch& b : loader.epoch(1)) seen.push_back(b.index); }(), Error);
    CHECK(seen == std::vector<int64_t>{0, 1, 2});
  }
}

TEST_CASE("DataLoader: destroyed mid-epoch, with batches queued or being built, it stops cleanly",
          "[data_loader][threads]") {
  const Rows rows = make_rows(64);
  std::atomic<int> built{0};
  for (int round = 0; round < 20; ++round) {
    DataLoaderOptions o = opts(4, uint64_t(round), false, 3);
    o.transform = [&](Batch&) {
      ++built;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    };
    DataLoader loader(rows.images, rows.labels, o);
    loader.start_epoch(0);
    if (round % 2) REQUIRE(loader.next());
    // the destructor runs here, the worker asleep on a full queue or inside the transform
  }
  CHECK(built > 0);
  // a loader that never started an epoch, with and without the thread
  { DataLoader idle(rows.images, rows.labels, opts(4, 0, false, 2)); }
  { DataLoader idle(rows.images, rows.labels, opts(4, 0, false, 0)); }
}

TEST_CASE("DataLoader: images alone, any dtype and row shape", "[data_loader]") {
  const Tensor ints = arange(24, kInt32).reshape({6, 2, 2});
  for (int64_t prefetch : {0, 2}) {
    DataLoader loader(ints, opts(4, 0, false, prefetch, false));
    const std::vector<Batch> batches = run_epoch(loader, 0);
    REQUIRE(batches.size() == 2);
    CHECK_FALSE(batches[0].labels.defined());
    CHECK(batches[1].images.shape() == Shape{2, 2, 2});
    CHECK(batches[1].images.dtype() == kInt32);
    CHECK(batches[1].images.to_vector<int32_t>() == std::vector<int32_t>{16, 17, 18, 19, 20, 21, 22, 23});
  }
  // a non-contiguous view is read as its values
  const Tensor t = arange(12, kFloat32).reshape({3, 4}).t();  // [4, 3]
  DataLoader loader(t, opts(4, 0, false, 0, false));
  CHECK(run_epoch(loader, 0)[0].images.to_vector<float>() == t.contiguous().to_vector<float>());
}

TEST_CASE("DataLoader: bad arguments are refused with what was expected", "[data_loader]") {
  const Rows rows = make_rows(10);
  CHECK_THROWS_WITH(DataLoader(rows.images, rows.labels.slice(0, 0, 9)),
                    "DataLoader: labels must have one row per image: images [10, 2, 3], labels [9]");
  CHECK_THROWS_WITH(DataLoader(scalar_tensor(1.0)), "DataLoader: images must be [n, ...], got a 0-d tensor");
  CHECK_THROWS_WITH(DataLoader(Tensor()), "DataLoader: images are undefined");
  CHECK_THROWS_WITH(DataLoader(rows.images, opts(0, 0, false, 0)), "DataLoader: batch_size must be >= 1, got 0");
  CHECK_THROWS_WITH(DataLoader(rows.images, opts(2, 0, false, -1)),
                    "DataLoader: prefetch must be >= 0 (0: no thread), got -1");
  DataLoader loader(rows.images, rows.labels, opts(3, 0, false, 0));
  CHECK(loader.batches_per_epoch() == 4);
  CHECK_THROWS_WITH(loader.start_epoch(-1), "DataLoader::start_epoch: epoch must be >= 0, got -1");
  CHECK_THROWS_WITH(loader.start_epoch(0, 5),
                    "DataLoader::start_epoch: first_batch must be in 0..4 (the batches of an epoch), got 5");
  CHECK_THROWS_WITH(loader.order(-2), "DataLoader::order: epoch must be >= 0, got -2");
}
