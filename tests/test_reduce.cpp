// tests/test_reduce.cpp: (being written)
#include <catch2/catch.hpp>
