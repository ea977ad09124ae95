// models/dcgan.h: the "standard CNN" GAN of the SN-GAN paper (Miyato et al.
// 2018, Table 3), which the thesis calls DCGAN (its angle and score studies,
// sections 2.1.5.1-2.1.5.2; THESIS-NOTES.md). Layer for layer as the widely
// used PyTorch port of it (pytorch-gan-collections, models/sngan.py), which
// differs from the paper's table in two places, both kept here: a BatchNorm
// and ReLU follow the dense layer of G, and D doubles its channels at each
// stride-2 convolution (64, 128, 128, 256, 256, 512, 512) where the table
// doubles them at the stride-1 ones.
//
// Channels for the default width w = 64 (DcganOptions::width scales them all):
//   G  z [N, 128] -> dense -> [N, 512, M, M] -> BN, ReLU
//        -> deconv 4x4/2 512->256, BN, ReLU -> 256->128 -> 128->64 (BN, ReLU)
//        -> conv 3x3 64->C, tanh -> [N, C, 8M, 8M]          (M = size / 8)
//   D  x [N, C, S, S] -> conv 3x3 C->64, lReLU(0.1) -> conv 4x4/2 64->128
//        -> 3x3 128->128 -> 4x4/2 128->256 -> 3x3 256->256 -> 4x4/2 256->512
//        -> 3x3 512->512 (each followed by lReLU 0.1) -> dense -> [N, 1]
//
// Every weight starts N(0, 0.02), every bias 0; D has spectral norm on every
// layer (an option). C = 3 for CIFAR-10, 1 for (Fashion-)MNIST padded to
// 32x32; S = 32 (M = 4) or 48 (M = 6, STL-10).
#pragma once

#include <memory>

#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/normalization.h"

namespace nova::models {

struct DcganOptions {
  int64_t z_dim = 128;
  int64_t image_channels = 3;
  int64_t image_size = 32;  // a multiple of 8
  bool spectral_norm_d = true;
  /// The channel unit: G runs 8w, 4w, 2w, w channels, D w, 2w, 2w, 4w, 4w, 8w, 8w
  /// (the papers' w = 64; the reference tests use a smaller one).
  int64_t width = 64;
};

class DcganGenerator : public nn::Module {
 public:
  explicit DcganGenerator(const DcganOptions& options = {});
  /// z [N, z_dim] -> images [N, C, size, size] in [-1, 1]
  Tensor forward(const Tensor& z) override;

  DcganOptions options;
  std::shared_ptr<nn::Linear> dense;
  std::shared_ptr<nn::BatchNorm2d> bn0, bn1, bn2, bn3;
  std::shared_ptr<nn::ConvTranspose2d> deconv1, deconv2, deconv3;
  std::shared_ptr<nn::Conv2d> conv_out;
};

class DcganDiscriminator : public nn::Module {
 public:
  explicit DcganDiscriminator(const DcganOptions& options = {});
  /// images [N, C, size, size] -> raw scores [N, 1]
  Tensor forward(const Tensor& x) override;

  DcganOptions options;
  /// the seven convolutions, in order, each with D's leaky ReLU (slope 0.1)
  /// fused into its output (Conv2dArgs::activation)
  std::vector<std::shared_ptr<nn::Conv2d>> convs;
  std::shared_ptr<nn::Linear> dense;
};

}  // namespace nova::models
