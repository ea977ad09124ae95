// models/inception_v3.h: the Inception-v3 network of the Frechet Inception
// Distance, layer for layer as the PyPI package pytorch-fid builds it
// (pytorch_fid/inception.py: fid_inception_v3, the InceptionV3 wrapper with
// its default output block 3, the 2048-d pool3 features). It is torchvision's
// Inception3 without the auxiliary classifier and with the FID blocks, which
// follow TensorFlow's graph of the 2015-12-05 model the FID paper used:
//   BasicConv2d    conv (no bias) -> BatchNorm (eps 0.001) -> ReLU
//   FIDInceptionA/C/E_1 (Mixed_5b-d, 6b-e, 7b): the pool branch is a 3x3/1
//                  average with padding 1 that does not count the padding
//                  (count_include_pad=False; torchvision's counts it)
//   FIDInceptionE_2 (Mixed_7c): a 3x3/1 max pool there instead
//   Mixed_6a (InceptionB), Mixed_7a (InceptionD): torchvision's, unchanged
// Forward: x [N, 3, H, W] in [0, 1] -> bilinear resize to 299x299
// (align_corners=False) -> 2x - 1 -> stem (Conv2d_1a..4a, two 3x3/2 max
// pools) -> Mixed_5b..7c -> global average -> features [N, 2048].
//
// Parameter and buffer names are the keys of the FID weights file
// (pt_inception-2015-12-05-6726825d.pth, torchvision's names:
// Conv2d_1a_3x3.conv.weight, Mixed_5b.branch1x1.bn.running_mean, ...,
// fc.weight): convert it once in Python,
//     sd = torch.load("pt_inception-2015-12-05-6726825d.pth")
//     safetensors.torch.save_file(sd, "fid_inception.safetensors")
// and load it with load_fid_inception below. Full size: 23,850,960
// parameters with the fc, 21,785,568 without (pytorch-fid's counts, see
// tests/reference/make_inception_ref.py).
//
// The fc (2048 -> 1008, the TF model's 1008 classes) is in the weights file
// but unused by pytorch-fid; logits() exposes it for the Inception Score.
// The original IS code (improved-gan) multiplies pool3 by the softmax
// weights without the bias: logits(x, false) gives that.
//
// Computing FID (datasets/image_metrics.h) with images in [0, 1]:
//     auto net = std::make_shared<models::InceptionV3>();
//     models::load_fid_inception(*net, "fid_inception.safetensors");
//     NoGradGuard no_grad;
//     Tensor real = net->forward(real_images);   // [N, 2048], in batches
//     Tensor fake = net->forward(fake_images);
//     double fid = datasets::frechet_distance(real, fake);
#pragma once

#include <memory>
#include <string>

#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/normalization.h"

namespace nova::models {

struct InceptionV3Options {
  /// Divides every channel count (and the fc's 1008 classes): 1, 2, 4, 8 or
  /// 16 (16 is the largest common divisor). Smaller networks for tests; the
  /// FID weights need 1.
  int64_t channel_divisor = 1;
  /// Hold the fc 2048 -> 1008 (fc.weight, fc.bias) that the FID weights file
  /// has. false for a state dict saved from pytorch-fid's InceptionV3
  /// wrapper, which has none.
  bool fc = true;
  /// pytorch-fid's resize_input and normalize_input, both on by default.
  bool resize_input = true;
  bool normalize_input = true;
};

/// conv (no bias) -> BatchNorm2d(eps 0.001) -> ReLU; children "conv", "bn".
class InceptionBasicConv2d : public nn::Module {
 public:
  InceptionBasicConv2d(int64_t in_channels, int64_t out_channels, Pair2d kernel, Pair2d stride = 1,
                       Pair2d padding = 0);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::Conv2d> conv;
  std::shared_ptr<nn::BatchNorm2d> bn;
};

using InceptionConv = std::shared_ptr<InceptionBasicConv2d>;

/// FIDInceptionA: [N, C, H, W] -> [N, (224 + pool_features * d) / d, H, W]
/// (64 + 64 + 96 + pool_features channels at divisor d = 1).
class FidInceptionA : public nn::Module {
 public:
  FidInceptionA(int64_t in_channels, int64_t pool_features, int64_t divisor);
  Tensor forward(const Tensor& x) override;

  InceptionConv branch1x1, branch5x5_1, branch5x5_2, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3,
      branch_pool;
};

/// InceptionB (Mixed_6a): stride 2, [N, C, H, W] -> [N, 480 / d + C, H', W'].
class InceptionB : public nn::Module {
 public:
  InceptionB(int64_t in_channels, int64_t divisor);
  Tensor forward(const Tensor& x) override;

  InceptionConv branch3x3, branch3x3dbl_1, branch3x3dbl_2, branch3x3dbl_3;
};

/// FIDInceptionC: the factorised 7x7 block, -> [N, 768 / d, H, W].
class FidInceptionC : public nn::Module {
 public:
  FidInceptionC(int64_t in_channels, int64_t channels_7x7, int64_t divisor);
  Tensor forward(const Tensor& x) override;

  InceptionConv branch1x1, branch7x7_1, branch7x7_2, branch7x7_3, branch7x7dbl_1, branch7x7dbl_2,
      branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5, branch_pool;
};

/// InceptionD (Mixed_7a): stride 2, [N, C, H, W] -> [N, 512 / d + C, H', W'].
class InceptionD : public nn::Module {
 public:
  InceptionD(int64_t in_channels, int64_t divisor);
  Tensor forward(const Tensor& x) override;

  InceptionConv branch3x3_1, branch3x3_2, branch7x7x3_1, branch7x7x3_2, branch7x7x3_3, branch7x7x3_4;
};

/// FIDInceptionE_1 (max_pool false: average pool without padding) or
/// FIDInceptionE_2 (max_pool true): -> [N, 2048 / d, H, W].
class FidInceptionE : public nn::Module {
 public:
  FidInceptionE(int64_t in_channels, int64_t divisor, bool max_pool);
  Tensor forward(const Tensor& x) override;

  bool max_pool;
  InceptionConv branch1x1, branch3x3_1, branch3x3_2a, branch3x3_2b, branch3x3dbl_1, branch3x3dbl_2,
      branch3x3dbl_3a, branch3x3dbl_3b, branch_pool;
};

/// The FID network (see the top of the file). Built in eval mode: it is a
/// fixed feature extractor and its BatchNorms must use the stored
/// statistics (train() still switches them to batch statistics). Weights
/// start as nn::Conv2d's default init and BN's identity: load real ones.
class InceptionV3 : public nn::Module {
 public:
  explicit InceptionV3(const InceptionV3Options& options = {});
  /// images [N, 3, H, W], values in [0, 1] (with normalize_input) -> pool3
  /// features [N, 2048 / channel_divisor]. Without resize_input, H and W
  /// must be at least 75 (the smallest input that reaches Mixed_7c).
  Tensor forward(const Tensor& images) override;
  /// fc(forward(images)) [N, 1008 / channel_divisor]; include_bias false
  /// drops fc.bias as the original Inception Score code does. Throws when
  /// built with fc = false.
  Tensor logits(const Tensor& images, bool include_bias = true);
  /// logits() from features forward() already computed.
  Tensor logits_from_features(const Tensor& features, bool include_bias = true);

  InceptionV3Options options;
  // members: the keys in snake_case (conv2d_1a_3x3 is registered as "Conv2d_1a_3x3")
  InceptionConv conv2d_1a_3x3, conv2d_2a_3x3, conv2d_2b_3x3, conv2d_3b_1x1, conv2d_4a_3x3;
  std::shared_ptr<FidInceptionA> mixed_5b, mixed_5c, mixed_5d;
  std::shared_ptr<InceptionB> mixed_6a;
  std::shared_ptr<FidInceptionC> mixed_6b, mixed_6c, mixed_6d, mixed_6e;
  std::shared_ptr<InceptionD> mixed_7a;
  std::shared_ptr<FidInceptionE> mixed_7b, mixed_7c;
  std::shared_ptr<nn::Linear> fc;  // null when options.fc is false
};

/// Renames a state dict saved from pytorch-fid's InceptionV3 wrapper
/// (blocks.0.0.* ... blocks.3.2.*) to the names above (Conv2d_1a_3x3.* ...
/// Mixed_7c.*); other keys pass unchanged. Keys are renamed, tensors shared.
StateDict fid_inception_state_from_wrapper(const StateDict& state);

/// Loads a safetensors file into `model`: the FID weights file converted as
/// shown at the top (or a wrapper's state dict, renamed as above; build the
/// model with fc = false for it). BatchNorm num_batches_tracked entries
/// missing from the file (old torch.save files lack them; PyTorch fills
/// them in too) keep the model's. Strict otherwise: a missing, unexpected
/// or misshapen key throws nova::Error naming the file and the key, and
/// leaves the model unchanged.
void load_fid_inception(InceptionV3& model, const std::string& path);

/// A network built to fit the safetensors file at `path` and loaded from it
/// (load_fid_inception): the channel divisor from Conv2d_1a_3x3's 32 / d
/// output channels, fc when the file has fc.weight. The FID weights file
/// gives the full network; the tests' small files their divisor. Throws
/// nova::Error naming the file when it holds no Inception stem or a divisor
/// other than 1, 2, 4, 8, 16.
std::shared_ptr<InceptionV3> open_fid_inception(const std::string& path);

}  // namespace nova::models
