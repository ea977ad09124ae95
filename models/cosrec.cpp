// models/cosrec.cpp: CosRec and SCosRec (see cosrec.h).
#include "models/cosrec.h"

#include "core/autograd.h"
#include "core/ops.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/normalization.h"
#include "nn/symconv.h"

namespace nova::models {

CosRecOptions CosRecOptions::ml1m(int64_t users, int64_t items, bool symmetric) {
  CosRecOptions o;
  o.num_users = users, o.num_items = items, o.d = 50, o.fc_dim = 150, o.symmetric = symmetric;
  return o;
}

CosRecOptions CosRecOptions::gowalla(int64_t users, int64_t items, bool symmetric) {
  CosRecOptions o = ml1m(users, items, symmetric);
  o.d = 100, o.fc_dim = 50;
  return o;
}

CosRecBlock::CosRecBlock(int64_t in, int64_t out, bool symmetric, bool generating) : Module("CosRecBlock") {
  if (symmetric) {
    if (generating)
      conv1 = register_module("conv1", std::make_shared<nn::SymmetryGeneratingConv2d>(in, out, 1));
    else
      conv1 = register_module("conv1", std::make_shared<nn::SymmetryPreservingConv2d>(in, out, 1));
    bn1 = register_module("bn1", std::make_shared<nn::SymmetricBatchNorm>(out));
    conv2 = register_module("conv2", std::make_shared<nn::SymmetryPreservingConv2d>(out, out, 3));
    bn2 = register_module("bn2", std::make_shared<nn::SymmetricBatchNorm>(out));
  } else {
    conv1 = register_module("conv1", std::make_shared<nn::Conv2d>(in, out, 1));
    bn1 = register_module("bn1", std::make_shared<nn::BatchNorm2d>(out));
    conv2 = register_module("conv2", std::make_shared<nn::Conv2d>(out, out, 3));
    bn2 = register_module("bn2", std::make_shared<nn::BatchNorm2d>(out));
  }
}

Tensor CosRecBlock::forward(const Tensor& x) {
  Tensor h = ops::relu(bn1->forward(conv1->forward(x)));
  return ops::relu(bn2->forward(conv2->forward(h)));
}

CosRec::CosRec(const CosRecOptions& o) : Module(o.symmetric ? "SCosRec" : "CosRec"), options(o) {
  NOVA_CHECK(o.num_users > 0 && o.num_items > 0, "CosRec: num_users and num_items must be > 0, got {} and {}",
             o.num_users, o.num_items);
  NOVA_CHECK(o.L >= 1 && o.d >= 1 && o.fc_dim >= 1 && !o.block_dims.empty(),
             "CosRec: L, d, fc_dim and the block list must be positive, got L {} d {} fc_dim {} and {} blocks", o.L,
             o.d, o.fc_dim, o.block_dims.size());
  NOVA_CHECK(o.L - 2 * int64_t(o.block_dims.size()) >= 1,
             "CosRec: L = {} is too short for {} blocks (each 3x3 convolution takes 2 off the map's side)", o.L,
             o.block_dims.size());
  user_embeddings = register_module("user_embeddings", std::make_shared<nn::Embedding>(o.num_users, o.d));
  item_embeddings = register_module("item_embeddings", std::make_shared<nn::Embedding>(o.num_items, o.d));
  W2 = register_module("W2", std::make_shared<nn::Embedding>(o.num_items, o.fc_dim + o.d));
  b2 = register_module("b2", std::make_shared<nn::Embedding>(o.num_items, 1));
  {
    NoGradGuard no_grad;
    nn::init::normal_(user_embeddings->weight, 0.0, 1.0 / double(o.d));
    nn::init::normal_(item_embeddings->weight, 0.0, 1.0 / double(o.d));
    nn::init::normal_(W2->weight, 0.0, 1.0 / double(o.fc_dim + o.d));
    nn::init::zeros_(b2->weight);
  }
  cnnBlock = register_module("cnnBlock", std::make_shared<nn::Sequential>());
  int64_t in = o.symmetric ? o.d : 2 * o.d;
  for (size_t b = 0; b < o.block_dims.size(); ++b) {
    cnnBlock->push_back(std::make_shared<CosRecBlock>(in, o.block_dims[b], o.symmetric, o.symmetric && b == 0));
    in = o.block_dims[b];
  }
  fc1 = register_module("fc1", std::make_shared<nn::Linear>(in, o.fc_dim));
  dropout = register_module("dropout", std::make_shared<nn::Dropout>(o.dropout, o.dropout_generator));
}

Tensor CosRec::pairwise_encoding(const Tensor& e) {
  const int64_t B = e.size(0), L = e.size(1), d = e.size(2);
  Tensor channels = ops::permute(e, {0, 2, 1});                                  // [B, d, L]
  Tensor by_col = ops::expand(ops::reshape(channels, {B, d, 1, L}), {B, d, L, L});  // e_j at (i, j)
  Tensor by_row = ops::expand(ops::reshape(channels, {B, d, L, 1}), {B, d, L, L});  // e_i at (i, j)
  return ops::cat({by_col, by_row}, 1);
}

Tensor CosRec::encode(const Tensor& seq, const Tensor& users) {
  NOVA_CHECK(seq.defined() && seq.dim() == 2 && seq.size(1) == options.L,
             "CosRec: seq must be [B, {}] item ids, got {}", options.L,
             seq.defined() ? seq.shape().str() : "an undefined tensor");
  NOVA_CHECK(users.defined() && users.dim() == 1 && users.size(0) == seq.size(0),
             "CosRec: users must be [{}], got {}", seq.size(0),
             users.defined() ? users.shape().str() : "an undefined tensor");
  Tensor e = item_embeddings->forward(seq);  // [B, L, d]
  Tensor maps = options.symmetric ? cnnBlock->forward(e) : cnnBlock->forward(pairwise_encoding(e));
  // the mean over the whole map (packed: over the unpacked symmetric one)
  Tensor pooled = options.symmetric ? ops::mean(ops::sym_unpack(maps), {2, 3}) : ops::mean(maps, {2, 3});
  Tensor h = dropout->forward(ops::tanh(fc1->forward(pooled)));
  return ops::cat({h, user_embeddings->forward(users)}, 1);
}

Tensor CosRec::forward(const Tensor& seq, const Tensor& users, const Tensor& items) {
  NOVA_CHECK(items.defined() && items.dim() == 2 && items.size(0) == seq.size(0),
             "CosRec: items must be [{}, K], got {}", seq.size(0),
             items.defined() ? items.shape().str() : "an undefined tensor");
  Tensor x = encode(seq, users);                                   // [B, D]
  Tensor w = W2->forward(items);                                   // [B, K, D]
  Tensor b = ops::squeeze(b2->forward(items), 2);                  // [B, K]
  return ops::sum(w * ops::unsqueeze(x, 1), {2}) + b;
}

Tensor CosRec::score_all(const Tensor& seq, const Tensor& users) {
  Tensor x = encode(seq, users);                                              // [B, D]
  return ops::matmul(x, ops::transpose(W2->weight, 0, 1)) + ops::reshape(b2->weight, {1, options.num_items});
}

}  // namespace nova::models
