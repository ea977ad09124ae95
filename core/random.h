// core/random.h: Generator, a Philox key plus how far its stream has been
// used, and the default generator that ops draw from when given none. The
// Philox function and the stream convention (which block feeds element i)
// are in core/base/philox.h, shared with the kernels.
#pragma once

#include <cstdint>

#include "core/base/philox.h"

namespace nova {

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

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

/// The generator used when an op is not given one; `manual_seed` reseeds it.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace nova
