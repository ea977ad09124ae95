// tests/test_state_dict.cpp: the state_dict of everything a trainer carries
// between steps (core/state_dict.h, Generator). Each round trip goes through
// a safetensors file and claims bit-identical continuation. Mismatched
// states are refused by key and leave the target unchanged.
#include <cstdint>
#include <vector>

#include "core/random.h"
#include "nn/checkpoint.h"
#include "tests/test_util.h"

using namespace nova;
using nova::test::require_identical;
using nova::test::TempDir;

namespace {

/// A state written to a safetensors file and read back: every round trip
/// below goes through the bytes a checkpoint holds.
StateDict through_file(const StateDict& state) {
  TempDir dir;
  nn::save_checkpoint(dir.file("state.safetensors"), state);
  return nn::load_checkpoint(dir.file("state.safetensors"));
}

}  // namespace

// ---- core/state_dict.h ----

TEST_CASE("integers in a state survive a file bit for bit, beyond 2^53 and bit-cast from uint64",
          "[state_dict]") {
  const int64_t big = (int64_t(1) << 62) + 1;  // not a double
  const uint64_t seed = 0xFEDCBA9876543210ULL;  // above 2^63
  StateDict s = through_file({{"big", int64_scalar(big)}, {"seed", int64_scalar(int64_t(seed))},
                              {"lr", float64_scalar(0.1)}});
  REQUIRE(read_int64(s, "big", "test") == big);
  REQUIRE(uint64_t(read_int64(s, "seed", "test")) == seed);
  REQUIRE(read_float64(s, "lr", "test") == 0.1);
  REQUIRE_THROWS_NOVA(read_int64(s, "lr", "test"), "test: 'lr' must be a 0-d int64 tensor, got float64 []");
  REQUIRE_THROWS_NOVA(read_int64(s, "none", "test"), "test: missing key 'none'");
  REQUIRE_THROWS_NOVA(check_known_keys(s, {"big", "lr"}, "test"), "test: unexpected keys 'seed'");
}

TEST_CASE("sub_state takes back what insert_prefixed nested", "[state_dict]") {
  StateDict outer;
  insert_prefixed(&outer, "opt", {{"a", int64_scalar(1)}, {"b.c", int64_scalar(2)}});
  outer.insert("optimizer.x", int64_scalar(3));  // shares the letters, not the prefix
  REQUIRE(outer.keys() == std::vector<std::string>{"opt.a", "opt.b.c", "optimizer.x"});
  REQUIRE(sub_state(outer, "opt").keys() == std::vector<std::string>{"a", "b.c"});
}

// ---- Generator ----

TEST_CASE("a generator restored from its state draws the numbers the original would have", "[state_dict][random]") {
  Generator g(0xFEDCBA9876543210ULL);
  g.set_offset((uint64_t(1) << 60) + 3);
  randn({7}, kFloat32, kCPU, &g);  // an odd count: the next draw still starts on a fresh block
  StateDict saved = through_file(g.state_dict());
  Tensor expected = randn({5, 3}, kFloat64, kCPU, &g);
  Tensor expected_u = rand({9}, kFloat32, kCPU, &g);

  Generator h(1);
  h.load_state_dict(saved);
  REQUIRE(h.seed() == 0xFEDCBA9876543210ULL);
  require_identical({{"n", expected}, {"u", expected_u}},
                    {{"n", randn({5, 3}, kFloat64, kCPU, &h)}, {"u", rand({9}, kFloat32, kCPU, &h)}});
}

TEST_CASE("a generator refuses a state with a missing, extra or mistyped key, and keeps its own",
          "[state_dict][random]") {
  Generator g(5);
  g.set_offset(17);
  REQUIRE_THROWS_NOVA(g.load_state_dict({{"seed", int64_scalar(1)}}),
                      "Generator::load_state_dict: missing key 'offset'");
  REQUIRE_THROWS_NOVA(g.load_state_dict({{"seed", int64_scalar(1)}, {"offset", float64_scalar(2)}}),
                      "'offset' must be a 0-d int64 tensor, got float64 []");
  REQUIRE_THROWS_NOVA(
      g.load_state_dict({{"seed", int64_scalar(1)}, {"offset", int64_scalar(2)}, {"cached", int64_scalar(0)}}),
      "unexpected keys 'cached'");
  REQUIRE(g.seed() == 5);
  REQUIRE(g.offset() == 17);
}
