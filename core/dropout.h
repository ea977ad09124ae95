// core/dropout.h: (being written)
#pragma once
#include "core/tensor.h"
