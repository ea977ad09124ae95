// core/random.cpp: the default generator and a Generator's state (see random.h).
#include "core/random.h"

#include "core/state_dict.h"

namespace nova {

Generator& default_generator() {
  static Generator generator;
  return generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

StateDict Generator::state_dict() const {
  return {{"seed", int64_scalar(int64_t(seed_))}, {"offset", int64_scalar(int64_t(offset()))}};
}

void Generator::check_state_dict(const StateDict& state) const {
  const char* op = "Generator::load_state_dict";
  read_int64(state, "seed", op);
  read_int64(state, "offset", op);
  check_known_keys(state, {"seed", "offset"}, op);
}

void Generator::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  const char* op = "Generator::load_state_dict";
  seed_ = uint64_t(read_int64(state, "seed", op));
  set_offset(uint64_t(read_int64(state, "offset", op)));
}

}  // namespace nova
