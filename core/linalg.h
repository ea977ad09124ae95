// core/linalg.h: (being written)
#pragma once
#include "core/tensor.h"
