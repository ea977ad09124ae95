// tests/test_linalg_cuda.cpp: (being written)
#include "tests/cuda_util.h"
