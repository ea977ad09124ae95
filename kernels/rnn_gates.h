// kernels/rnn_gates.h: the fused per-time-step gate math of GRU and LSTM
// (PyTorch's equations and gate order), forward and backward, one pass over
// the B x H elements of a step. The kernels see contiguous row-major tensors
// (core makes them so); every output is written, not accumulated. The
// per-element formulas are in kernels/rnn_gates_math.h, shared by both back
// ends; core/rnn_gates.cpp has the derivative table and the autograd.
//
// Declared once, for both back ends, by the list kernels/rnn_gates.def; the
// CPU versions are in kernels/cpu/rnn_gates.cpp, the CUDA ones in
// kernels/cuda/rnn_gates.cu.
#pragma once

#include "core/base/view.h"

#define NOVA_KERNEL_FAMILY "kernels/rnn_gates.def"
#include "kernels/declare_family.h"
