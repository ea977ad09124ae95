// core/ops.h: every op of nova in one include: `#include "core/ops.h"` and
// call nova::ops::matmul(a, b), nova::ops::softmax(x, -1), ...
#pragma once

#include "core/conv.h"
#include "core/dropout.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/linalg.h"
#include "core/loss.h"
#include "core/matmul.h"
#include "core/ncgru_recurrence.h"
#include "core/normalization.h"
#include "core/pool.h"
#include "core/reduce.h"
#include "core/rnn_gates.h"
#include "core/rnn_layer.h"
#include "core/segment.h"
#include "core/softmax.h"
#include "core/symconv.h"
#include "core/views.h"
