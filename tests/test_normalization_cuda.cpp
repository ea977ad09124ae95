// tests/test_normalization_cuda.cpp: (being written)
#include "tests/cuda_util.h"
