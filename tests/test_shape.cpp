// tests/test_shape.cpp: Shape's size arithmetic (core/base/shape.h). Element
// counts, strides and byte counts multiply dims; a shape too large for
// int64 must be refused with an error, never wrap (signed overflow is
// undefined behaviour, and a wrapped byte count under-allocates).
#include "tests/test_util.h"

using namespace nova;

namespace {
constexpr int64_t k2to62 = int64_t{1} << 62;
}

TEST_CASE("numel and strides of ordinary shapes", "[shape]") {
  REQUIRE(Shape{}.numel() == 1);
  REQUIRE(Shape{2, 3, 4}.numel() == 24);
  REQUIRE(Shape{2, 0, 4}.numel() == 0);
  REQUIRE(contiguous_strides(Shape{2, 3, 4}) == Shape{12, 4, 1});
  REQUIRE(contiguous_strides(Shape{2, 0, 4}) == Shape{4, 4, 1});
  // the largest count int64 holds is still a count
  REQUIRE(Shape{3, 715827882, 4294967297}.numel() == 9223372030412324862);
}

TEST_CASE("a shape whose element count overflows int64 is refused", "[shape]") {
  REQUIRE_THROWS_NOVA((Shape{k2to62, 4}.numel()), "shape: [4611686018427387904, 4] is too large");
  REQUIRE_THROWS_NOVA((Shape{4294967296, 4294967296}.numel()), "overflows int64");
  // a 0 makes the count 0, but the strides still multiply the other dims
  REQUIRE_THROWS_NOVA((Shape{k2to62, k2to62, 0}.numel()), "too large");
  REQUIRE_THROWS_NOVA((Shape{0, k2to62, k2to62}.numel()), "too large");
  REQUIRE_THROWS_NOVA(contiguous_strides(Shape{0, k2to62, k2to62}), "too large");
}

TEST_CASE("a tensor whose byte count overflows is refused before allocating", "[shape][tensor]") {
  // 2^62 elements fit in int64, their 2^65 bytes do not fit in size_t
  REQUIRE_THROWS_NOVA(empty({k2to62}, kFloat64), "empty: shape [4611686018427387904] of float64");
  REQUIRE_THROWS_NOVA(zeros({k2to62, k2to62, 0}), "too large");
}
