// tests/test_views.cpp: (being written)
#include <catch2/catch.hpp>
