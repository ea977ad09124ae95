// models/biggan.h: BigGAN (Brock et al. 2019) at CIFAR-10 resolution, layer
// for layer as BigGAN-PyTorch (ajbrock/BigGAN-PyTorch: BigGAN.py, layers.py)
// builds it for resolution 32 with the options of scripts/launch_cifar_ema.sh
// (dataset C10: 10 classes; G_attn 0, D_attn 0; everything else at the
// defaults of utils.py: G_ch = D_ch = 64, dim_z 128, bottom_width 4, no
// shared embedding, no hierarchical latent, G_param = D_param = SN with one
// singular vector and one power iteration, SN_eps 1e-8, BN_eps 1e-5, D_wide).
//
//   G  z [N, 128], y [N] -> linear (SN) -> [N, 4c, 4, 4]      (c = G_ch, 4c = 256)
//        -> 3 GBlocks 4c->4c, each 2x up -> output layer (a plain BN, not a
//           ccbn): BN (eps 1e-5), ReLU, conv 3x3 (SN) 4c->3, tanh -> [N, 3, 32, 32]
//      GBlock(x, y): h = conv1(up(relu(bn1(x, y)))); h = conv2(relu(bn2(h, y)))
//                    return h + conv_sc(up(x))             (up: nearest 2x)
//      ccbn(x, y) = BN(x) * (1 + gain(y)) + bias(y), BN without affine,
//                    eps BN_eps, momentum 0.1. gain and bias are Embeddings
//                    [n_classes, C] picked by label (no SN, as BigGAN.py), or
//                    with a shared embedding, SN linears without bias of
//                    shared(y) (hierarchical: of [shared(y), z_k]).
//   D  x [N, 3, 32, 32], y [N] -> DBlock(3, 4c, down, no preactivation)
//        -> DBlock(4c, 4c, down) -> DBlock(4c, 4c) -> DBlock(4c, 4c)
//        -> ReLU, global sum pool -> linear (SN) 4c->1
//        + <embed(y), h> (SN embedding [n_classes, 4c], projection D)
//      DBlock: h = conv2(relu(conv1([relu] x))) [avgpool 2]; shortcut
//        preactivated: [conv_sc] then [avgpool]; first block: avgpool then
//        conv_sc; conv_sc (1x1) when in != out or down, else identity.
//   Every conv and linear has a bias, but for the ccbn linears of the
//   shared-embedding variant; every layer of both nets has spectral norm
//   except G's embeddings (class and shared) and its BatchNorms.
// Hierarchical latent (option): z is split into num_blocks + 1 chunks of
// dim_z / (num_blocks + 1); the first feeds the linear, chunk k + 1 joins
// shared(y) in block k's ccbn. It needs the shared embedding, as in BigGAN.py
// (an Embedding cannot take the concatenation).
//
// Init (G_init / D_init) applies to every conv, linear and embedding weight,
// never to biases (PyTorch's default U(+-1/sqrt(fan_in)) stays) nor to the BN
// affines: BigganInit::n02 (N(0, 0.02)) is what launch_cifar_ema.sh passes
// (--G_init N02 --D_init N02), and the default here; ortho is utils.py's
// default (used by the ImageNet scripts), xavier its third choice.
//
// Spectral norm: BigGAN-PyTorch's SN (layers.SN) against nova's
// (nn/spectral_norm.h, torch.nn.utils.spectral_norm's scheme). With
// num_svs = num_itrs = 1, the CIFAR setting, a training forward computes the
// same thing: v = n(W^T u), u = n(W v) from the stored u, sigma = u^T W v
// with u, v constants, W / sigma; F.normalize's eps is a floor on the norm
// as n's is. The differences, none of which the CIFAR configuration meets
// in training:
//   - eval mode: BigGAN still runs the power iteration from the stored u
//     (without storing the result), nova reuses the stored u and v as they
//     are, so eval outputs differ slightly;
//   - num_svs > 1 (several singular vectors, Gram-Schmidt between them; only
//     the first normalises) has no counterpart here: not offered;
//   - state: BigGAN stores the trained weight as `weight` with buffers u0
//     [1, rows] and sv0 (a log of sigma); nova stores weight_orig, weight_u
//     [rows] and weight_v [cols]. A BigGAN checkpoint maps by renaming
//     (weight -> weight_orig, u0 -> weight_u reshaped; weight_v is unused in
//     training; sv0 dropped).
//   - BigGAN's initial u is an unnormalised N(0, 1) draw; v = n(W^T u) makes
//     the scale irrelevant.
// SN's eps is options.sn_eps (1e-8, utils.py's SN_eps default).
#pragma once

#include <memory>
#include <vector>

#include "nn/conv.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/normalization.h"
#include "nn/sequential.h"

namespace nova::models {

enum class BigganInit { n02, ortho, xavier };

struct BigganOptions {
  int64_t num_classes = 10;
  int64_t z_dim = 128;
  /// G_ch and D_ch: every block runs 4 x the width (256 for the default 64).
  int64_t g_ch = 64, d_ch = 64;
  /// G_shared: one Embedding [num_classes, shared_dim] feeds every ccbn
  /// through SN linears. shared_dim 0 means z_dim.
  bool shared_embedding = false;
  int64_t shared_dim = 0;
  /// hier: the latent is split over the linear and the blocks (needs
  /// shared_embedding); the generator rounds its z_dim down to a multiple of
  /// 4 as BigGAN.py does (BigganGenerator::options holds the value used).
  bool hierarchical = false;
  double bn_eps = 1e-5;  // the ccbns' (BN_eps); the output BN always uses 1e-5, as layers.bn
  double sn_eps = 1e-8;
  int sn_power_iterations = 1;
  BigganInit g_init = BigganInit::n02, d_init = BigganInit::n02;
};

/// layers.ccbn: BN without affine, then (1 + gain(y)) and bias(y).
class BigganCcbn : public nn::Module {
 public:
  /// input_size = 0: gain and bias are Embeddings [num_classes, C] taking
  /// labels; otherwise SN linears without bias [C, input_size] taking
  /// features [N, input_size].
  BigganCcbn(int64_t channels, int64_t num_classes, int64_t input_size, double bn_eps,
             const nn::SpectralNormOptions& sn);
  using nn::Module::forward;  // kept visible beside the labelled forward (it throws)
  /// x [N, C, H, W], y: labels [N] or features [N, input_size].
  Tensor forward(const Tensor& x, const Tensor& y);

  std::shared_ptr<nn::Embedding> gain_embed, bias_embed;   // children "gain", "bias" (no shared embedding)
  std::shared_ptr<nn::Linear> gain_linear, bias_linear;    // the same names, with it
  std::shared_ptr<nn::ConditionalBatchNorm2d> norm;        // no classes of its own: the statistics
};

class BigganGenBlock : public nn::Module {
 public:
  BigganGenBlock(int64_t in, int64_t out, int64_t num_classes, int64_t ccbn_input, double bn_eps,
                 const nn::SpectralNormOptions& sn);
  using nn::Module::forward;  // kept visible beside the labelled forward (it throws)
  /// x [N, in, H, W] -> [N, out, 2H, 2W]
  Tensor forward(const Tensor& x, const Tensor& y);

  std::shared_ptr<nn::Conv2d> conv1, conv2, conv_sc;
  std::shared_ptr<BigganCcbn> bn1, bn2;
};

class BigganGenerator : public nn::Module {
 public:
  explicit BigganGenerator(const BigganOptions& options = {});
  using nn::Module::forward;  // kept visible beside the labelled forward (it throws)
  /// z [N, z_dim], labels [N] int64 in [0, num_classes) -> images [N, 3, 32, 32]
  Tensor forward(const Tensor& z, const Tensor& labels);

  BigganOptions options;
  int64_t num_slots, z_chunk;  // 1 and 0 without the hierarchical latent
  std::shared_ptr<nn::Embedding> shared;  // null without the shared embedding
  std::shared_ptr<nn::Linear> linear;
  std::vector<std::shared_ptr<BigganGenBlock>> blocks;  // children blocks.0 .. blocks.2
  std::shared_ptr<nn::Sequential> output_layer;        // 0: BatchNorm2d, 1: ReLU, 2: Conv2d
};

class BigganDisBlock : public nn::Module {
 public:
  BigganDisBlock(int64_t in, int64_t out, bool downsample, bool preactivation, const nn::SpectralNormOptions& sn);
  Tensor forward(const Tensor& x) override;

  bool downsample, preactivation;
  std::shared_ptr<nn::Conv2d> conv1, conv2, conv_sc;  // conv_sc null for the identity shortcut
};

class BigganDiscriminator : public nn::Module {
 public:
  explicit BigganDiscriminator(const BigganOptions& options = {});
  using nn::Module::forward;  // kept visible beside the labelled forward (it throws)
  /// images [N, 3, 32, 32], labels [N] -> raw scores [N, 1]
  Tensor forward(const Tensor& x, const Tensor& labels);

  BigganOptions options;
  std::vector<std::shared_ptr<BigganDisBlock>> blocks;  // children blocks.0 .. blocks.3
  std::shared_ptr<nn::Linear> linear;
  std::shared_ptr<nn::Embedding> embed;
};

}  // namespace nova::models
