// nn/embedding.h: Embedding, a lookup table of learned vectors.
//   indices (int64/int32, any shape) -> [...indices.shape, embedding_dim]
//   weight [num_embeddings, embedding_dim], initialised N(0, 1) as in PyTorch
// Row padding_idx starts at zero and receives no gradient, so it stays the
// "nothing here" vector of padded sequences. With spectral norm
// (nn/spectral_norm.h; SN-GAN's projection discriminator) the trained
// parameter is weight_orig [num, dim] and weight = weight_orig / sigma.
#pragma once

#include "nn/module.h"
#include "nn/spectral_norm.h"

namespace nova::nn {

class Embedding : public Module {
 public:
  /// padding_idx < 0: no padding row; otherwise a row in [0, num_embeddings)
  /// (a negative index other than -1 is not accepted, to keep it simple).
  Embedding(int64_t num_embeddings, int64_t embedding_dim, int64_t padding_idx = -1,
            const SpectralNormOptions& spectral_norm = {});
  Tensor forward(const Tensor& indices) override;
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim, padding_idx;
  Tensor weight;  // the parameter; with spectral norm, the last forward's weight_orig / sigma
  SpectralNorm spectral_norm;
};

}  // namespace nova::nn
