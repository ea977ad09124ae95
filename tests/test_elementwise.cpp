// tests/test_elementwise.cpp: (being written)
#include <catch2/catch.hpp>
