// tests/test_checkpoint.cpp: (being written)
#include <catch2/catch.hpp>
