// tests/test_random.cpp: (being written)
#include <catch2/catch.hpp>
