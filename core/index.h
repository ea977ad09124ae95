// core/index.h: (being written)
#pragma once
#include "core/tensor.h"
