// nn/embedding.cpp: Embedding (see embedding.h).
#include "nn/embedding.h"

#include "core/autograd.h"
#include "core/factory.h"
#include "core/index.h"
#include "nn/init.h"

namespace nova::nn {

Embedding::Embedding(int64_t num, int64_t dim, int64_t padding, const SpectralNormOptions& sn)
    : Module("Embedding"), num_embeddings(num), embedding_dim(dim), padding_idx(padding) {
  NOVA_CHECK(num > 0 && dim > 0, "Embedding: sizes must be > 0, got num_embeddings={}, embedding_dim={}",
             num, dim);
  NOVA_CHECK(padding == -1 || (padding >= 0 && padding < num),
             "Embedding: padding_idx must be -1 (none) or in [0, {}), got {}", num, padding);
  Tensor w = empty({num, dim});
  init::normal_(w);
  if (padding >= 0) init::zeros_(w.select(0, padding));
  if (sn.enabled) spectral_norm = SpectralNorm(*this, w, sn, "Embedding");
  else weight = register_parameter("weight", w);
}

Tensor Embedding::forward(const Tensor& indices) {
  if (spectral_norm.enabled()) weight = spectral_norm.weight(is_training());
  return ops::embedding(weight, indices, padding_idx);
}

std::string Embedding::extra_repr() const {
  std::string out = fmt::format("{}, {}", num_embeddings, embedding_dim);
  if (padding_idx >= 0) out += fmt::format(", padding_idx={}", padding_idx);
  if (spectral_norm.enabled()) out += ", spectral_norm=true";
  return out;
}

}  // namespace nova::nn
