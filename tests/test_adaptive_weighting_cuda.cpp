// tests/test_adaptive_weighting_cuda.cpp: placeholder (being written).
#include <catch2/catch.hpp>
TEST_CASE("placeholder test_adaptive_weighting_cuda") { SUCCEED(); }
