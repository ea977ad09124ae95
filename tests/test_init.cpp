// tests/test_init.cpp: (being written)
#include <catch2/catch.hpp>
