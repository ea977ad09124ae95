// tests/test_autograd.cpp: (being written)
#include <catch2/catch.hpp>
