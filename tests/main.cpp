// tests/main.cpp: the Catch2 entry point of nova_tests (one per binary).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
