// models/cosrec.h: CosRec (Yan et al. 2019, "CosRec: 2D Convolutional
// Neural Networks for Sequential Recommendation") and the thesis's SCosRec
// (section 4.1.4.1), the same network with SCNN's symmetric layers.
//
// Layer for layer as CosRec's public code (model.py), parameter names too:
//   e = item_embeddings(seq)                    [B, L, d]   (the last L items)
//   pairwise encoding T(e)                      [B, 2d, L, L]
//       T[:, 0:d, i, j] = e_j, T[:, d:2d, i, j] = e_i (the code's channel order)
//   cnnBlock.0, cnnBlock.1, each                (block_dims 128, 256)
//       conv1 1x1 -> bn1 -> ReLU -> conv2 3x3 (no padding) -> bn2 -> ReLU
//       at L = 5: 5x5 -> 3x3 -> 3x3 -> 1x1
//   mean over the map, fc1 -> tanh -> dropout   [B, fc_dim]
//   x = [that, user_embeddings(user)]           [B, fc_dim + d]
//   score(item) = W2[item] . x + b2[item]
// Initialisation as the code: embeddings N(0, (1/d)^2) (std 1/d, not
// variance; W2's std 1/(fc_dim + d)), b2 zeros, the conv, bn and fc layers
// PyTorch's defaults.
//
// SCosRec (symmetric = true): the pairwise encoding is never formed. Block
// 0's conv1 is a SymmetryGeneratingConv2d on e itself (its kernel W(S) ties
// channels k and d + k and is symmetric, so the encoding's two orders give
// the same layer); every other conv is a SymmetryPreservingConv2d and every
// bn a SymmetricBatchNorm, all on packed lower triangles (nn/symconv.h). It
// has C(C+1)/2 of C^2 weights per 3x3 kernel and half the first layer's:
// 1,730,958 parameters for ML-1M's sizes against CosRec's 1,983,118
// (Table 4.1: 1.730M and 1.983M).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/random.h"
#include "nn/dropout.h"
#include "nn/embedding.h"
#include "nn/linear.h"
#include "nn/sequential.h"

namespace nova::models {

struct CosRecOptions {
  int64_t num_users = 0;
  int64_t num_items = 0;  // every item id the data uses, the padding item 0 included
  int64_t L = 5;          // Markov order: the last L items
  int64_t d = 50;         // embedding size (50 ML-1M, 100 Gowalla)
  std::vector<int64_t> block_dims = {128, 256};
  int64_t fc_dim = 150;   // 150 ML-1M, 50 Gowalla
  double dropout = 0.5;
  /// Where dropout's masks are drawn from (the default generator when
  /// null); it must outlive the model. Runs side by side each need their own.
  Generator* dropout_generator = nullptr;
  bool symmetric = false;  // SCosRec

  /// Section 4.1.4.1's settings for each data set.
  static CosRecOptions ml1m(int64_t users, int64_t items, bool symmetric);
  static CosRecOptions gowalla(int64_t users, int64_t items, bool symmetric);
};

/// One of CosRec's CNN blocks, or SCosRec's symmetric one: conv1 (1x1), bn1,
/// ReLU, conv2 (3x3), bn2, ReLU. The symmetric block takes packed maps [B,
/// C, T], or, as the first block (generating), the embeddings [B, L, d].
class CosRecBlock : public nn::Module {
 public:
  CosRecBlock(int64_t in_channels, int64_t out_channels, bool symmetric, bool generating);
  Tensor forward(const Tensor& x) override;

  std::shared_ptr<nn::Module> conv1, bn1, conv2, bn2;
};

class CosRec : public nn::Module {
 public:
  explicit CosRec(const CosRecOptions& options);

  /// seq [B, L], users [B], items [B, K] (int64) -> scores [B, K].
  Tensor forward(const Tensor& seq, const Tensor& users, const Tensor& items);
  /// Every item's score for each row: [B, num_items] (evaluation ranks them).
  Tensor score_all(const Tensor& seq, const Tensor& users);
  /// x = [tanh(fc1(pool(cnn(seq)))) after dropout, user embedding]: [B, fc_dim + d].
  Tensor encode(const Tensor& seq, const Tensor& users);
  /// The pairwise encoding of CosRec's code: e [B, L, d] -> [B, 2d, L, L].
  static Tensor pairwise_encoding(const Tensor& e);
  using nn::Module::forward;

  CosRecOptions options;
  std::shared_ptr<nn::Embedding> user_embeddings, item_embeddings, W2, b2;
  std::shared_ptr<nn::Sequential> cnnBlock;
  std::shared_ptr<nn::Linear> fc1;
  std::shared_ptr<nn::Dropout> dropout;
};

}  // namespace nova::models
