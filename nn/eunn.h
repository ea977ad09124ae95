// nn/eunn.h: EUNN's orthogonal matrices (Jing et al. 2017, "Tunable
// Efficient Unitary Neural Networks"), in the real form GORU uses them (its
// code calls EUNN with comp=False): U is a product of layers of 2x2 Givens
// rotations, each layer rotating disjoint pairs of coordinates, and the
// rotation angles are ordinary parameters that any optimizer trains. U is
// orthogonal for every value of the angles, with determinant +1.
//
// Two layouts of the pairs, as GORU's code offers:
//   fft      ceil(log2 H) layers; layer l pairs coordinate j with j + 2^(L-l-1)
//            inside blocks of 2^(L-l) (L = the number of layers): the
//            butterfly of an FFT, farthest pairs first. GORU's default in both
//            of its tasks (paren_task.py, denoise_task.py: fft True).
//   tunable  `capacity` layers alternating between the pairs (0,1), (2,3), ...
//            and (1,2), (3,4), ...; GORU's code defaults to capacity 2.
// A layer maps x to y with, for each pair (i, k), i < k, and its angle t:
//   y_i = cos t x_i + sin t x_k,   y_k = cos t x_k - sin t x_i,
// and leaves unpaired coordinates alone (GORU's layer: x * cos + swap(x) *
// [sin, -sin]). For H a power of two the fft pairs are exactly GORU's; for
// other H, GORU's last partial block is not reproduced: ours pairs j with
// j + 2^(L-l-1) wherever both exist. In GORU's real tunable layers of even H,
// the last coordinate of every odd layer gets cos = sin = 0 (it is zeroed, so
// U is not orthogonal there); ours leaves it alone. Angles are numbered layer
// by layer, pair by pair in the order of their first coordinate (GORU lays
// them out differently; only the initial draw would differ).
//
//   nn::EunnLayout layout = nn::EunnLayout::fft(64);           // 6 layers, 192 angles
//   Tensor theta = uniform({layout.num_angles}, -M_PI, M_PI);  // GORU's initial values
//   Tensor U = nn::eunn_matrix(theta, layout);                 // [64, 64], U h = layer_6(...layer_1(h))
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nova::nn {

/// Which coordinates each layer rotates together and with which angle.
struct EunnLayout {
  /// ceil(log2 hidden_size) butterfly layers (one layer of nothing for H = 1).
  static EunnLayout fft(int64_t hidden_size);
  /// `capacity` >= 1 layers alternating between even and odd neighbour pairs.
  static EunnLayout tunable(int64_t hidden_size, int64_t capacity);

  int64_t hidden_size = 0;
  int64_t num_angles = 0;
  std::string style;  // "fft" or "tunable", for messages and extra_repr
  /// Per layer, per coordinate: the other coordinate of its pair (itself when
  /// unpaired), the index of the pair's angle in theta (num_angles when
  /// unpaired: eunn_matrix appends a zero angle there) and the sign of the
  /// sine term (+1 for the pair's first coordinate, -1 for its second, 0
  /// unpaired).
  std::vector<std::vector<int64_t>> partner, angle;
  std::vector<std::vector<double>> sign;

  int64_t layers() const { return int64_t(partner.size()); }
};

/// U [H, H] with U h = layer_L(...layer_1(h)) for the angles theta
/// [num_angles] (float32 or float64, CPU or CUDA; U takes theta's dtype and
/// device). Made of ops (index_select, cos, sin, mul, add), so the gradient
/// of theta, second derivatives and CUDA come with them; the cost is L
/// passes over an H x H matrix, once per sequence, not per step.
Tensor eunn_matrix(const Tensor& theta, const EunnLayout& layout);

}  // namespace nova::nn
