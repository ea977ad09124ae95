// tests/test_softmax.cpp: (being written)
#include <catch2/catch.hpp>
