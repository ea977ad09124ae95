// tests/test_dropout.cpp: (being written)
#include <catch2/catch.hpp>
