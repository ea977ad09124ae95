// core/random.h: Generator, a Philox key plus how far its stream has been
// used, and the default generator that ops draw from when given none. The
// Philox function and the stream convention (which block feeds element i)
// are in core/base/philox.h, shared with the kernels.
//
// (seed, offset) is the whole state: Philox keeps nothing between blocks, and
// every draw starts on a fresh block, so no half-used block or cached normal
// carries over from one draw to the next. A checkpoint stores those two
// numbers (state_dict) and a resumed run draws exactly what it would have.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/base/philox.h"

namespace nova {

class StateDict;

// The offset is atomic because the default generator is shared by every
// thread: two threads that build models at once both draw from it (Linear's
// default init), and a plain `offset_ += blocks` there was a data race that
// could hand both the same blocks. With fetch_add each draw gets blocks of
// its own; which thread gets which still depends on timing, so a thread that
// wants reproducible numbers passes its own Generator. Reseeding
// (manual_seed) while another thread draws is not supported.
class Generator {
 public:
  explicit Generator(uint64_t seed = 0x2545F4914F6CDD1DULL) : seed_(seed) {}
  Generator(const Generator& other) : seed_(other.seed_), offset_(other.offset()) {}
  Generator& operator=(const Generator& other) {
    seed_ = other.seed_;
    set_offset(other.offset());
    return *this;
  }

  /// Restarts the stream: seed as given, offset 0.
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    set_offset(0);
  }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_.load(std::memory_order_relaxed); }
  void set_offset(uint64_t offset) { offset_.store(offset, std::memory_order_relaxed); }

  /// Takes `blocks` blocks and returns the offset of the first one (safe to
  /// call from several threads at once).
  uint64_t reserve(uint64_t blocks) { return offset_.fetch_add(blocks, std::memory_order_relaxed); }

  /// {"seed", "offset"}: I64 0-d tensors holding the two uint64 values
  /// bit-cast (so exact; a seed above 2^63 reads as negative in Python).
  StateDict state_dict() const;
  /// Throws nova::Error ("Generator::load_state_dict: ...") naming the key
  /// when `state` lacks one, has another, or holds a wrong dtype or shape.
  void check_state_dict(const StateDict& state) const;
  /// Restores seed and offset; checks first, so on error nothing changes.
  void load_state_dict(const StateDict& state);

 private:
  uint64_t seed_;
  std::atomic<uint64_t> offset_{0};
};

/// The generator used when an op is not given one; `manual_seed` reseeds it.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace nova
