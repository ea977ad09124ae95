// tests/test_loss.cpp: (being written)
#include <catch2/catch.hpp>
