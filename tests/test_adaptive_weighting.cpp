// tests/test_adaptive_weighting.cpp: placeholder (being written).
#include <catch2/catch.hpp>
TEST_CASE("placeholder test_adaptive_weighting") { SUCCEED(); }
