// tests/test_index_cuda.cpp: (being written)
#include "tests/cuda_util.h"
