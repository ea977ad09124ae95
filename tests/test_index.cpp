// tests/test_index.cpp: (being written)
#include <catch2/catch.hpp>
