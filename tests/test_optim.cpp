// tests/test_optim.cpp: (being written)
#include <catch2/catch.hpp>
