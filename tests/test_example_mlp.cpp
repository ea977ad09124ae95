// tests/test_example_mlp.cpp: (being written)
#include <catch2/catch.hpp>
