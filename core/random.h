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

#include <cstdint>

#include "core/base/philox.h"

namespace nova {

class StateDict;

class Generator {
 public:
  explicit Generator(uint64_t seed = 0x2545F4914F6CDD1DULL) : seed_(seed) {}

  /// Restarts the stream: seed as given, offset 0.
  void manual_seed(uint64_t seed) {
    seed_ = seed;
    offset_ = 0;
  }
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t offset) { offset_ = offset; }

  /// Takes `blocks` blocks and returns the offset of the first one.
  uint64_t reserve(uint64_t blocks) {
    uint64_t start = offset_;
    offset_ += blocks;
    return start;
  }

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
  uint64_t offset_ = 0;
};

/// The generator used when an op is not given one; `manual_seed` reseeds it.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace nova
