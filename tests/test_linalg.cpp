// tests/test_linalg.cpp: (being written)
#include <catch2/catch.hpp>
