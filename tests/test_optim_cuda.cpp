// tests/test_optim_cuda.cpp: (being written)
#include "tests/cuda_util.h"
