// core/softmax.h: (being written)
#pragma once
#include "core/tensor.h"
