// models/sngan.h: the ResNet generator and discriminator of SN-GAN (Miyato
// et al. 2018, Tables 4 and 5 (b)/(c)), with the projection discriminator and
// conditional BatchNorm of cGANs with projection (Miyato & Koyama 2018) when
// num_classes > 0: the thesis's aw-SN-GAN runs (Tables 2.1-2.3).
//
//   32x32 (CIFAR-10)  G: z [N, 128] -> dense 4x4x256 -> 3 up-blocks 256
//                        -> BN, ReLU, conv 3x3 -> C, tanh
//                     D: optimized down-block 128, down-block 128, block 128,
//                        block 128 -> ReLU, global sum pool -> dense 1
//   48x48 (STL-10)    G: dense 6x6x512 -> up-blocks 256, 128, 64 -> BN, ReLU, conv
//                     D: optimized down 64, down 128, 256, 512, block 1024 -> ReLU,
//                        global sum pool -> dense 1
//
// Blocks (out = residual + shortcut):
//   GenBlock(in, out)  residual: BN, ReLU, nearest 2x, conv3x3, BN, ReLU, conv3x3
//                      shortcut: nearest 2x, conv1x1
//   DisBlock(in, out, down)  residual: ReLU, conv3x3, ReLU, conv3x3, [avgpool 2]
//                      shortcut (when in != out or down): conv1x1, [avgpool 2]
//   OptimizedDisBlock  residual: conv3x3, ReLU, conv3x3, avgpool 2
//                      shortcut: avgpool 2, conv1x1
// Conditional: G's block BNs are ConditionalBatchNorm2d picked by label; D
// adds the projection <embed(y), h> (spectral-normalised embedding) to its
// output. Spectral norm on every layer of D, none in G (the thesis's setting).
// Init as the SN-GAN code: residual convs xavier_uniform(gain sqrt 2), shortcut
// convs, G's dense and output conv and D's dense xavier_uniform(1); biases 0;
// D's dense has no bias. BatchNorm eps 1e-5 (PyTorch's; the Chainer code's is
// 2e-5: an option).
#pragma once

#include <memory>
#include <vector>

#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/normalization.h"

namespace nova::models {

struct SnganOptions {
  int64_t image_size = 32;  // 32 (CIFAR-10 layout) or 48 (STL-10 layout)
  int64_t image_channels = 3;
  int64_t z_dim = 128;
  int64_t num_classes = 0;  // > 0: conditional G and projection D
  double bn_eps = 1e-5;
  /// Channel units, 0 for the paper's: 32x32 G runs g_width channels in every
  /// block (256) and D d_width (128); 48x48 G runs 8, 4, 2, 1 x g_width (64)
  /// and D 1, 2, 4, 8, 16 x d_width (64). The reference tests use smaller ones.
  int64_t g_width = 0, d_width = 0;
};

/// One up-sampling residual block of G (see the top of the file).
class SnganGenBlock : public nn::Module {
 public:
  SnganGenBlock(int64_t in, int64_t out, int64_t num_classes, double bn_eps);
  using nn::Module::forward;  // kept visible beside the labelled forward (it throws)
  /// x [N, in, H, W] (labels [N] when conditional) -> [N, out, 2H, 2W]
  Tensor forward(const Tensor& x, const Tensor& labels);

  int64_t num_classes;
  std::shared_ptr<nn::BatchNorm2d> bn1, bn2;                        // unconditional
  std::shared_ptr<nn::ConditionalBatchNorm2d> cond_bn1, cond_bn2;  // conditional
  std::shared_ptr<nn::Conv2d> conv1, conv2, shortcut;
};

/// One residual block of D (see the top of the file).
class SnganDisBlock : public nn::Module {
 public:
  SnganDisBlock(int64_t in, int64_t out, bool down, bool optimized);
  Tensor forward(const Tensor& x) override;

  bool down, optimized;
  std::shared_ptr<nn::Conv2d> conv1, conv2, shortcut;  // shortcut null when identity
};

class SnganGenerator : public nn::Module {
 public:
  explicit SnganGenerator(const SnganOptions& options = {});
  /// z [N, z_dim] (labels [N] int64 when conditional) -> images [N, C, S, S]
  Tensor forward(const Tensor& z, const Tensor& labels);
  Tensor forward(const Tensor& z) override { return forward(z, Tensor()); }

  SnganOptions options;
  int64_t bottom_width, bottom_channels;
  std::shared_ptr<nn::Linear> dense;
  std::vector<std::shared_ptr<SnganGenBlock>> blocks;
  std::shared_ptr<nn::BatchNorm2d> bn_out;
  std::shared_ptr<nn::Conv2d> conv_out;
};

class SnganDiscriminator : public nn::Module {
 public:
  explicit SnganDiscriminator(const SnganOptions& options = {});
  /// images [N, C, S, S] (labels [N] when conditional) -> raw scores [N, 1]
  Tensor forward(const Tensor& x, const Tensor& labels);
  Tensor forward(const Tensor& x) override { return forward(x, Tensor()); }

  SnganOptions options;
  std::vector<std::shared_ptr<SnganDisBlock>> blocks;
  std::shared_ptr<nn::Linear> dense;
  std::shared_ptr<nn::Embedding> projection;  // null when unconditional
};

}  // namespace nova::models
