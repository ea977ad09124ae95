// models/inception_v3.cpp: pytorch-fid's FID Inception network (see
// inception_v3.h). The blocks follow torchvision's Inception3 modules with
// pytorch-fid's FID forwards; every channel count goes through c() so a
// divisor scales the whole network for the tests.
#include "models/inception_v3.h"

#include <cstdio>

#include "core/ops.h"
#include "core/pool.h"
#include "nn/checkpoint.h"

namespace nova::models {

namespace {

constexpr int64_t kInputSize = 299;
constexpr int64_t kClasses = 1008;        // the TF 2015-12-05 model's softmax
constexpr int64_t kLargestDivisor = 16;   // the gcd of all channel counts (48, 80, 1008, ...)

InceptionConv basic(nn::Module& parent, const char* name, int64_t in, int64_t out, Pair2d kernel,
                    Pair2d stride = 1, Pair2d padding = 0) {
  return parent.register_module(name, std::make_shared<InceptionBasicConv2d>(in, out, kernel, stride, padding));
}

/// The FID blocks' average pool: TensorFlow's, which leaves the zero padding
/// out of each window's count.
Tensor fid_avg_pool(const Tensor& x) {
  return ops::avg_pool2d(x, 3, 1, 1, /*ceil_mode=*/false, /*count_include_pad=*/false);
}

}  // namespace

InceptionBasicConv2d::InceptionBasicConv2d(int64_t in_channels, int64_t out_channels, Pair2d kernel,
                                           Pair2d stride, Pair2d padding)
    : nn::Module("BasicConv2d") {
  Conv2dArgs args;
  args.stride_hw = stride;
  args.padding_hw = padding;
  conv = register_module("conv", std::make_shared<nn::Conv2d>(in_channels, out_channels, kernel, args,
                                                              /*bias=*/false));
  bn = register_module("bn", std::make_shared<nn::BatchNorm2d>(out_channels, 0.001));
}

Tensor InceptionBasicConv2d::forward(const Tensor& x) { return ops::relu(bn->forward(conv->forward(x))); }

FidInceptionA::FidInceptionA(int64_t in, int64_t pool_features, int64_t d) : nn::Module("FIDInceptionA") {
  branch1x1 = basic(*this, "branch1x1", in, 64 / d, 1);
  branch5x5_1 = basic(*this, "branch5x5_1", in, 48 / d, 1);
  branch5x5_2 = basic(*this, "branch5x5_2", 48 / d, 64 / d, 5, 1, 2);
  branch3x3dbl_1 = basic(*this, "branch3x3dbl_1", in, 64 / d, 1);
  branch3x3dbl_2 = basic(*this, "branch3x3dbl_2", 64 / d, 96 / d, 3, 1, 1);
  branch3x3dbl_3 = basic(*this, "branch3x3dbl_3", 96 / d, 96 / d, 3, 1, 1);
  branch_pool = basic(*this, "branch_pool", in, pool_features, 1);
}

Tensor FidInceptionA::forward(const Tensor& x) {
  Tensor b5 = branch5x5_2->forward(branch5x5_1->forward(x));
  Tensor b3 = branch3x3dbl_3->forward(branch3x3dbl_2->forward(branch3x3dbl_1->forward(x)));
  return ops::cat({branch1x1->forward(x), b5, b3, branch_pool->forward(fid_avg_pool(x))}, 1);
}

InceptionB::InceptionB(int64_t in, int64_t d) : nn::Module("InceptionB") {
  branch3x3 = basic(*this, "branch3x3", in, 384 / d, 3, 2);
  branch3x3dbl_1 = basic(*this, "branch3x3dbl_1", in, 64 / d, 1);
  branch3x3dbl_2 = basic(*this, "branch3x3dbl_2", 64 / d, 96 / d, 3, 1, 1);
  branch3x3dbl_3 = basic(*this, "branch3x3dbl_3", 96 / d, 96 / d, 3, 2);
}

Tensor InceptionB::forward(const Tensor& x) {
  Tensor b3 = branch3x3dbl_3->forward(branch3x3dbl_2->forward(branch3x3dbl_1->forward(x)));
  return ops::cat({branch3x3->forward(x), b3, ops::max_pool2d(x, 3, 2)}, 1);
}

FidInceptionC::FidInceptionC(int64_t in, int64_t c7, int64_t d) : nn::Module("FIDInceptionC") {
  const Pair2d row{1, 7}, col{7, 1}, row_pad{0, 3}, col_pad{3, 0};
  branch1x1 = basic(*this, "branch1x1", in, 192 / d, 1);
  branch7x7_1 = basic(*this, "branch7x7_1", in, c7, 1);
  branch7x7_2 = basic(*this, "branch7x7_2", c7, c7, row, 1, row_pad);
  branch7x7_3 = basic(*this, "branch7x7_3", c7, 192 / d, col, 1, col_pad);
  branch7x7dbl_1 = basic(*this, "branch7x7dbl_1", in, c7, 1);
  branch7x7dbl_2 = basic(*this, "branch7x7dbl_2", c7, c7, col, 1, col_pad);
  branch7x7dbl_3 = basic(*this, "branch7x7dbl_3", c7, c7, row, 1, row_pad);
  branch7x7dbl_4 = basic(*this, "branch7x7dbl_4", c7, c7, col, 1, col_pad);
  branch7x7dbl_5 = basic(*this, "branch7x7dbl_5", c7, 192 / d, row, 1, row_pad);
  branch_pool = basic(*this, "branch_pool", in, 192 / d, 1);
}

Tensor FidInceptionC::forward(const Tensor& x) {
  Tensor b7 = branch7x7_3->forward(branch7x7_2->forward(branch7x7_1->forward(x)));
  Tensor bd = branch7x7dbl_1->forward(x);
  for (const InceptionConv& layer : {branch7x7dbl_2, branch7x7dbl_3, branch7x7dbl_4, branch7x7dbl_5})
    bd = layer->forward(bd);
  return ops::cat({branch1x1->forward(x), b7, bd, branch_pool->forward(fid_avg_pool(x))}, 1);
}

InceptionD::InceptionD(int64_t in, int64_t d) : nn::Module("InceptionD") {
  branch3x3_1 = basic(*this, "branch3x3_1", in, 192 / d, 1);
  branch3x3_2 = basic(*this, "branch3x3_2", 192 / d, 320 / d, 3, 2);
  branch7x7x3_1 = basic(*this, "branch7x7x3_1", in, 192 / d, 1);
  branch7x7x3_2 = basic(*this, "branch7x7x3_2", 192 / d, 192 / d, Pair2d{1, 7}, 1, Pair2d{0, 3});
  branch7x7x3_3 = basic(*this, "branch7x7x3_3", 192 / d, 192 / d, Pair2d{7, 1}, 1, Pair2d{3, 0});
  branch7x7x3_4 = basic(*this, "branch7x7x3_4", 192 / d, 192 / d, 3, 2);
}

Tensor InceptionD::forward(const Tensor& x) {
  Tensor b3 = branch3x3_2->forward(branch3x3_1->forward(x));
  Tensor b7 = branch7x7x3_4->forward(
      branch7x7x3_3->forward(branch7x7x3_2->forward(branch7x7x3_1->forward(x))));
  return ops::cat({b3, b7, ops::max_pool2d(x, 3, 2)}, 1);
}

FidInceptionE::FidInceptionE(int64_t in, int64_t d, bool max_pool_branch)
    : nn::Module(max_pool_branch ? "FIDInceptionE_2" : "FIDInceptionE_1"), max_pool(max_pool_branch) {
  const Pair2d row{1, 3}, col{3, 1}, row_pad{0, 1}, col_pad{1, 0};
  branch1x1 = basic(*this, "branch1x1", in, 320 / d, 1);
  branch3x3_1 = basic(*this, "branch3x3_1", in, 384 / d, 1);
  branch3x3_2a = basic(*this, "branch3x3_2a", 384 / d, 384 / d, row, 1, row_pad);
  branch3x3_2b = basic(*this, "branch3x3_2b", 384 / d, 384 / d, col, 1, col_pad);
  branch3x3dbl_1 = basic(*this, "branch3x3dbl_1", in, 448 / d, 1);
  branch3x3dbl_2 = basic(*this, "branch3x3dbl_2", 448 / d, 384 / d, 3, 1, 1);
  branch3x3dbl_3a = basic(*this, "branch3x3dbl_3a", 384 / d, 384 / d, row, 1, row_pad);
  branch3x3dbl_3b = basic(*this, "branch3x3dbl_3b", 384 / d, 384 / d, col, 1, col_pad);
  branch_pool = basic(*this, "branch_pool", in, 192 / d, 1);
}

Tensor FidInceptionE::forward(const Tensor& x) {
  Tensor b3 = branch3x3_1->forward(x);
  b3 = ops::cat({branch3x3_2a->forward(b3), branch3x3_2b->forward(b3)}, 1);
  Tensor bd = branch3x3dbl_2->forward(branch3x3dbl_1->forward(x));
  bd = ops::cat({branch3x3dbl_3a->forward(bd), branch3x3dbl_3b->forward(bd)}, 1);
  // E_2's max pool is what the TF graph has (pytorch-fid: "likely an error"
  // in that model, kept because the FID weights were trained with it)
  Tensor pool = max_pool ? ops::max_pool2d(x, 3, 1, 1) : fid_avg_pool(x);
  return ops::cat({branch1x1->forward(x), b3, bd, branch_pool->forward(pool)}, 1);
}

InceptionV3::InceptionV3(const InceptionV3Options& o) : nn::Module("InceptionV3"), options(o) {
  const int64_t d = o.channel_divisor;
  NOVA_CHECK(d >= 1 && kLargestDivisor % d == 0,
             "InceptionV3: channel_divisor must divide every channel count (1, 2, 4, 8 or 16), got {}", d);
  auto c = [d](int64_t n) { return n / d; };
  conv2d_1a_3x3 = basic(*this, "Conv2d_1a_3x3", 3, c(32), 3, 2);
  conv2d_2a_3x3 = basic(*this, "Conv2d_2a_3x3", c(32), c(32), 3);
  conv2d_2b_3x3 = basic(*this, "Conv2d_2b_3x3", c(32), c(64), 3, 1, 1);
  conv2d_3b_1x1 = basic(*this, "Conv2d_3b_1x1", c(64), c(80), 1);
  conv2d_4a_3x3 = basic(*this, "Conv2d_4a_3x3", c(80), c(192), 3);
  mixed_5b = register_module("Mixed_5b", std::make_shared<FidInceptionA>(c(192), c(32), d));
  mixed_5c = register_module("Mixed_5c", std::make_shared<FidInceptionA>(c(256), c(64), d));
  mixed_5d = register_module("Mixed_5d", std::make_shared<FidInceptionA>(c(288), c(64), d));
  mixed_6a = register_module("Mixed_6a", std::make_shared<InceptionB>(c(288), d));
  mixed_6b = register_module("Mixed_6b", std::make_shared<FidInceptionC>(c(768), c(128), d));
  mixed_6c = register_module("Mixed_6c", std::make_shared<FidInceptionC>(c(768), c(160), d));
  mixed_6d = register_module("Mixed_6d", std::make_shared<FidInceptionC>(c(768), c(160), d));
  mixed_6e = register_module("Mixed_6e", std::make_shared<FidInceptionC>(c(768), c(192), d));
  mixed_7a = register_module("Mixed_7a", std::make_shared<InceptionD>(c(768), d));
  mixed_7b = register_module("Mixed_7b", std::make_shared<FidInceptionE>(c(1280), d, false));
  mixed_7c = register_module("Mixed_7c", std::make_shared<FidInceptionE>(c(2048), d, true));
  if (o.fc) fc = register_module("fc", std::make_shared<nn::Linear>(c(2048), c(kClasses)));
  eval();
}

Tensor InceptionV3::forward(const Tensor& images) {
  NOVA_CHECK(images.dim() == 4 && images.size(1) == 3, "InceptionV3: expected images [N, 3, H, W], got {}",
             images.shape().str());
  Tensor x = images;
  if (options.resize_input)
    x = ops::upsample_bilinear2d(x, ops::UpsampleTo::size(kInputSize, kInputSize), /*align_corners=*/false);
  if (options.normalize_input) x = x * 2.0 - 1.0;  // [0, 1] -> [-1, 1]
  x = conv2d_2b_3x3->forward(conv2d_2a_3x3->forward(conv2d_1a_3x3->forward(x)));
  x = ops::max_pool2d(x, 3, 2);
  x = conv2d_4a_3x3->forward(conv2d_3b_1x1->forward(x));
  x = ops::max_pool2d(x, 3, 2);
  for (nn::Module* block : std::initializer_list<nn::Module*>{
           mixed_5b.get(), mixed_5c.get(), mixed_5d.get(), mixed_6a.get(), mixed_6b.get(), mixed_6c.get(),
           mixed_6d.get(), mixed_6e.get(), mixed_7a.get(), mixed_7b.get(), mixed_7c.get()})
    x = block->forward(x);
  return ops::global_avg_pool2d(x);
}

Tensor InceptionV3::logits_from_features(const Tensor& features, bool include_bias) {
  NOVA_CHECK(fc != nullptr, "InceptionV3: logits need the fc; this network was built with fc = false");
  return ops::linear(features, fc->weight, include_bias ? fc->bias : Tensor());
}

Tensor InceptionV3::logits(const Tensor& images, bool include_bias) {
  return logits_from_features(forward(images), include_bias);
}

StateDict fid_inception_state_from_wrapper(const StateDict& state) {
  // InceptionV3.blocks: [stem to maxpool1], [to maxpool2], [Mixed_5b..6e],
  // [Mixed_7a..7c]; the pools hold no state, so index j names one module.
  static const char* const kBlocks[4][8] = {
      {"Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"},
      {"Conv2d_3b_1x1", "Conv2d_4a_3x3"},
      {"Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"},
      {"Mixed_7a", "Mixed_7b", "Mixed_7c"}};
  StateDict renamed;
  for (const auto& [key, value] : state) {
    std::string name = key;
    unsigned i = 0, j = 0;
    int used = 0;
    if (std::sscanf(key.c_str(), "blocks.%u.%u.%n", &i, &j, &used) == 2 && used > 0 && i < 4 && j < 8 &&
        kBlocks[i][j] != nullptr)
      name = std::string(kBlocks[i][j]) + "." + key.substr(size_t(used));
    renamed.insert(name, value);
  }
  return renamed;
}

namespace {

/// load_fid_inception's work on a state already read (and renamed) from `path`.
void load_fid_state(InceptionV3& model, StateDict state, const std::string& path) {
  const std::string kCounter = "num_batches_tracked";
  for (const auto& [key, value] : model.state_dict())
    if (!state.contains(key) && key.size() > kCounter.size() &&
        key.compare(key.size() - kCounter.size(), kCounter.size(), kCounter) == 0)
      state.insert(key, value);
  try {
    model.load_state_dict(state);
  } catch (const Error& e) {
    throw Error(fmt::format("load_fid_inception: {}: {}", path, e.what()));
  }
}

}  // namespace

void load_fid_inception(InceptionV3& model, const std::string& path) {
  load_fid_state(model, fid_inception_state_from_wrapper(nn::load_checkpoint(path)), path);
}

std::shared_ptr<InceptionV3> open_fid_inception(const std::string& path) {
  StateDict state = fid_inception_state_from_wrapper(nn::load_checkpoint(path));
  const std::string stem = "Conv2d_1a_3x3.conv.weight";
  NOVA_CHECK(state.contains(stem) && state.at(stem).dim() == 4,
             "open_fid_inception: {}: no {} [32 / d, 3, 3, 3]: not an Inception-v3 state", path, stem);
  const int64_t out = state.at(stem).size(0);
  NOVA_CHECK(out >= 2 && 32 % out == 0 && (32 / out) <= 16,
             "open_fid_inception: {}: {} has {} output channels; 32 / d for a divisor d of 1, 2, 4, 8 or 16 expected",
             path, stem, out);
  InceptionV3Options o;
  o.channel_divisor = 32 / out;
  o.fc = state.contains("fc.weight");
  auto model = std::make_shared<InceptionV3>(o);
  load_fid_state(*model, std::move(state), path);
  return model;
}

}  // namespace nova::models
