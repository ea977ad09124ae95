// tests/test_lr_scheduler.cpp: (being written)
#include <catch2/catch.hpp>
