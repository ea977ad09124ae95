// nn/eunn.cpp: EUNN's layouts and the matrix they make (see eunn.h).
#include "nn/eunn.h"

#include <algorithm>

#include "core/base/error.h"
#include "core/ops.h"

namespace nova::nn {

namespace {

/// An empty layout of `layers` layers over H coordinates, every one unpaired.
EunnLayout unpaired(int64_t H, int64_t layers, const char* style) {
  EunnLayout out;
  out.hidden_size = H;
  out.style = style;
  out.partner.assign(size_t(layers), std::vector<int64_t>(size_t(H)));
  out.angle.assign(size_t(layers), std::vector<int64_t>(size_t(H), -1));
  out.sign.assign(size_t(layers), std::vector<double>(size_t(H), 0.0));
  for (auto& p : out.partner)
    for (int64_t j = 0; j < H; ++j) p[size_t(j)] = j;
  return out;
}

/// Pairs coordinates i < k in `layer` with the next angle.
void pair(EunnLayout& out, int64_t layer, int64_t i, int64_t k) {
  const size_t l = size_t(layer);
  out.partner[l][size_t(i)] = k;
  out.partner[l][size_t(k)] = i;
  out.angle[l][size_t(i)] = out.angle[l][size_t(k)] = out.num_angles++;
  out.sign[l][size_t(i)] = 1.0;
  out.sign[l][size_t(k)] = -1.0;
}

/// Unpaired coordinates point at the zero angle eunn_matrix appends.
EunnLayout finish(EunnLayout out) {
  for (auto& layer : out.angle)
    for (int64_t& a : layer)
      if (a < 0) a = out.num_angles;
  return out;
}

}  // namespace

EunnLayout EunnLayout::fft(int64_t H) {
  NOVA_CHECK(H >= 1, "EunnLayout::fft: hidden_size must be >= 1, got {}", H);
  int64_t L = 0;
  while ((int64_t(1) << L) < H) ++L;  // ceil(log2 H)
  EunnLayout out = unpaired(H, std::max<int64_t>(L, 1), "fft");
  for (int64_t l = 0; l < L; ++l) {
    const int64_t half = int64_t(1) << (L - l - 1), block = 2 * half;
    for (int64_t start = 0; start < H; start += block)
      for (int64_t j = start; j < start + half && j + half < H; ++j) pair(out, l, j, j + half);
  }
  return finish(std::move(out));
}

EunnLayout EunnLayout::tunable(int64_t H, int64_t capacity) {
  NOVA_CHECK(H >= 1 && capacity >= 1, "EunnLayout::tunable: need hidden_size >= 1 and capacity >= 1, got {} and {}",
             H, capacity);
  EunnLayout out = unpaired(H, capacity, "tunable");
  for (int64_t l = 0; l < capacity; ++l)
    for (int64_t j = l % 2; j + 1 < H; j += 2) pair(out, l, j, j + 1);
  return finish(std::move(out));
}

Tensor eunn_matrix(const Tensor& theta, const EunnLayout& layout) {
  NOVA_CHECK(theta.defined() && theta.dim() == 1 && theta.size(0) == layout.num_angles,
             "eunn_matrix: expected theta [{}] for the {} layout of hidden size {}, got {}", layout.num_angles,
             layout.style, layout.hidden_size, theta.defined() ? theta.shape().str() : "(undefined)");
  NOVA_CHECK(is_floating(theta.dtype()), "eunn_matrix: theta must be float32 or float64, got {}",
             dtype_name(theta.dtype()));
  const int64_t H = layout.hidden_size;
  const Device device = theta.device();
  // the zero angle of unpaired coordinates: cos 1, sin 0 (times sign 0 too)
  const Tensor angles = ops::cat({theta, zeros({1}, theta.dtype(), device)}, 0);
  Tensor U = eye(H, H, theta.dtype(), device);
  for (int64_t l = 0; l < layout.layers(); ++l) {
    const size_t i = size_t(l);
    const Tensor t = ops::index_select(angles, 0, from_vector(layout.angle[i], {H}).to(device));
    const Tensor c = ops::reshape(ops::cos(t), {H, 1});
    const Tensor s = ops::reshape(ops::sin(t) * from_vector(layout.sign[i], {H}, theta.dtype(), device), {H, 1});
    // rows mix: U <- layer_l U, so U h applies layer 1 first
    U = U * c + ops::index_select(U, 0, from_vector(layout.partner[i], {H}).to(device)) * s;
  }
  return U;
}

}  // namespace nova::nn
