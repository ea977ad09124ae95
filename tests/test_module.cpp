// tests/test_module.cpp: (being written)
#include <catch2/catch.hpp>
