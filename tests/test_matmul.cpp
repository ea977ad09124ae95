// tests/test_matmul.cpp: (being written)
#include <catch2/catch.hpp>
