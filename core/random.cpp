// core/random.cpp: the default generator (see random.h).
#include "core/random.h"

namespace nova {

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace nova
