// nn/nn.h: every module, initializer and checkpoint helper of nova::nn in
// one include.
#pragma once

#include "nn/activation.h"
#include "nn/checkpoint.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/gan_loss.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/normalization.h"
#include "nn/normalized_discriminator.h"
#include "nn/orthogonal_rnn.h"
#include "nn/rnn.h"
#include "nn/sequential.h"
#include "nn/spectral_norm.h"
#include "nn/symconv.h"
