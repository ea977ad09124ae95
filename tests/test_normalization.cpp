// tests/test_normalization.cpp: (being written)
#include <catch2/catch.hpp>
