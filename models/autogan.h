// models/autogan.h: AutoGAN's discovered CIFAR-10 generator ("AutoGAN-top",
// Gong et al. 2019) and the discriminator it was trained against, layer for
// layer as the official code defines them (TAMU-VITA/AutoGAN,
// models/autogan_cifar10_a.py and models/building_blocks.py, run by
// exps/autogan_cifar10_a.sh: gf_dim 256, df_dim 128, bottom_width 4,
// latent_dim 128, spectral norm in D only, xavier_uniform init).
//
//   G  z [N, 128] -> l1 (dense) -> [N, g, 4, 4]
//        -> cell1 (nearest,  no skip in,  shortcut)  -> [N, g, 8, 8]
//        -> cell2 (bilinear, 1 skip in,   shortcut)  -> [N, g, 16, 16]
//        -> cell3 (nearest,  2 skips in,  no shortcut) -> [N, g, 32, 32]
//        -> to_rgb: BN, ReLU, conv 3x3 g->3, tanh
//   Cell(x, skips):  h = c1(up(relu(x)))            (up: 2x in the cell's mode)
//                    skip_out = h
//                    h = h + sum_k skip_in_ops[k](resize(skips[k] to h's size))
//                    out = c2(relu(h)) [+ c_sc(up(x))]
//                    returns (skip_out, out)
//   D  SN-GAN's 32x32 ResNet D with df_dim channels: OptimizedDisBlock(3, d),
//      DisBlock(d, d, down), DisBlock(d, d), DisBlock(d, d), ReLU, global sum
//      pool, l5 dense d->1 without bias; spectral norm on every layer.
//
// The skip-out aliasing, reproduced on purpose (THESIS-NOTES.md): the
// official Cell adds its skip inputs in place (`h += ...`) into the very
// tensor it returns as its skip output, so cell2's skip output is
// c1(...) + skip_in_ops[0](up(cell1's skip)), not c1(...) alone: cell 2
// forwards cell 1's contribution to cell 3 a second time. The published
// AutoGAN numbers come from that behaviour, so it is the default here;
// AutoganOptions::inplace_skip = false gives the clean reading (skip output
// = c1's output), which changes no parameter, only the function.
//
// Init as train_derived.py's weights_init with init_type xavier_uniform:
// every Conv2d weight (the trained weight_orig under spectral norm)
// xavier_uniform(gain 1), BatchNorm weight N(1, 0.02) and bias 0; conv biases
// and both dense layers keep PyTorch's default init. Parameter and buffer
// names are the official module's (l1, cell1.c1, cell2.skip_in_ops.0,
// to_rgb.0, block1.c_sc, l5, ...), and spectral norm stores weight_orig,
// weight_u and weight_v as torch.nn.utils.spectral_norm does, so an official
// checkpoint's state_dict maps one to one.
#pragma once

#include <memory>
#include <utility>
#include <vector>

#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/normalization.h"
#include "nn/sequential.h"

namespace nova::models {

struct AutoganOptions {
  int64_t z_dim = 128;        // latent_dim
  int64_t gf_dim = 256;       // G's channels in every cell
  int64_t df_dim = 128;       // D's channels in every block
  int64_t bottom_width = 4;   // G's first feature map; images are 8 x bottom_width
  bool d_spectral_norm = true;
  /// true: the official in-place skip aliasing (see the top of the file).
  bool inplace_skip = true;
};

/// One searched generator cell (see the top of the file).
class AutoganCell : public nn::Module {
 public:
  /// bilinear: the up-sampling mode (nearest otherwise), used for the 2x
  /// up-sampling and for resizing the skip inputs. num_skip_in 1x1 convs
  /// out->out take the skip inputs; short_cut adds c_sc(up(x)).
  AutoganCell(int64_t in, int64_t out, bool bilinear, int64_t num_skip_in, bool short_cut, bool inplace_skip);
  using nn::Module::forward;  // kept visible beside the cell's forward (it throws)
  /// x [N, in, H, W] and num_skip_in skip tensors [N, out, h_k, w_k] ->
  /// (skip output [N, out, 2H, 2W], output [N, out, 2H, 2W]).
  std::pair<Tensor, Tensor> forward(const Tensor& x, const std::vector<Tensor>& skips);

  bool bilinear, inplace_skip;
  std::shared_ptr<nn::Conv2d> c1, c2, c_sc;            // c_sc null without shortcut
  std::vector<std::shared_ptr<nn::Conv2d>> skip_in_ops;  // children skip_in_ops.0, .1
};

class AutoganGenerator : public nn::Module {
 public:
  explicit AutoganGenerator(const AutoganOptions& options = {});
  /// z [N, z_dim] -> images [N, 3, 8 bottom_width, 8 bottom_width] in [-1, 1]
  Tensor forward(const Tensor& z) override;

  AutoganOptions options;
  std::shared_ptr<nn::Linear> l1;
  std::shared_ptr<AutoganCell> cell1, cell2, cell3;
  std::shared_ptr<nn::Sequential> to_rgb;  // 0: BatchNorm2d, 1: ReLU, 2: Conv2d, 3: Tanh
};

/// AutoGAN's D block: the optimized first block or a plain one (as SN-GAN's).
class AutoganDisBlock : public nn::Module {
 public:
  /// optimized: c1, ReLU, c2, avgpool | avgpool, c_sc (first block).
  /// Otherwise: ReLU, c1, ReLU, c2, [avgpool] | [c_sc, [avgpool]] with c_sc
  /// present when in != out or downsample.
  AutoganDisBlock(int64_t in, int64_t out, bool downsample, bool optimized, bool spectral_norm);
  Tensor forward(const Tensor& x) override;

  bool downsample, optimized;
  std::shared_ptr<nn::Conv2d> c1, c2, c_sc;  // c_sc null when the shortcut is the identity
};

class AutoganDiscriminator : public nn::Module {
 public:
  explicit AutoganDiscriminator(const AutoganOptions& options = {});
  /// images [N, 3, H, W] (H, W multiples of 4) -> raw scores [N, 1]
  Tensor forward(const Tensor& x) override;

  AutoganOptions options;
  std::shared_ptr<AutoganDisBlock> block1, block2, block3, block4;
  std::shared_ptr<nn::Linear> l5;
};

}  // namespace nova::models
