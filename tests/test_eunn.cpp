// tests/test_eunn.cpp: EUNN's orthogonal matrices (nn/eunn.h), which GORU
// uses for its U. The layouts pair the coordinates GORU's code pairs (FFT
// style: the butterfly, farthest pairs first; tunable: alternating
// neighbours), eunn_matrix equals a plain loop of the documented rotations,
// is orthogonal for any angles, is the identity at zero angles, and its
// first and second derivatives in theta match finite differences.
#include <cmath>
#include <utility>
#include <vector>

#include "nn/eunn.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// The pairs (i, k), i < k, of `layer`, in angle order.
std::vector<std::pair<int64_t, int64_t>> pairs(const nn::EunnLayout& layout, int64_t layer) {
  std::vector<std::pair<int64_t, int64_t>> out(size_t(layout.num_angles));
  std::vector<bool> seen(size_t(layout.num_angles), false);
  const auto& partner = layout.partner[size_t(layer)];
  const auto& angle = layout.angle[size_t(layer)];
  for (int64_t j = 0; j < layout.hidden_size; ++j)
    if (partner[size_t(j)] > j) {
      out[size_t(angle[size_t(j)])] = {j, partner[size_t(j)]};
      seen[size_t(angle[size_t(j)])] = true;
    }
  std::vector<std::pair<int64_t, int64_t>> used;
  for (size_t a = 0; a < out.size(); ++a)
    if (seen[a]) used.push_back(out[a]);
  return used;
}

/// U h by the rotations of eunn.h's comment, in plain doubles: per layer,
/// y_i = cos t x_i + sin t x_k, y_k = cos t x_k - sin t x_i.
std::vector<double> rotate(const nn::EunnLayout& layout, const std::vector<double>& theta, std::vector<double> h) {
  for (int64_t l = 0; l < layout.layers(); ++l)
    for (int64_t j = 0; j < layout.hidden_size; ++j) {
      const int64_t k = layout.partner[size_t(l)][size_t(j)];
      if (k <= j) continue;
      const double t = theta[size_t(layout.angle[size_t(l)][size_t(j)])];
      const double xi = h[size_t(j)], xk = h[size_t(k)];
      h[size_t(j)] = std::cos(t) * xi + std::sin(t) * xk;
      h[size_t(k)] = std::cos(t) * xk - std::sin(t) * xi;
    }
  return h;
}

double orthogonality_error(const Tensor& U) {
  const Tensor e = ops::sub(ops::matmul(U.t(), U), eye(U.size(0), -1, U.dtype(), U.device()));
  return max_abs_diff(e, zeros_like(e));
}

}  // namespace

TEST_CASE("EUNN FFT layout: the butterfly of GORU's code, farthest pairs first", "[eunn]") {
  const nn::EunnLayout l8 = nn::EunnLayout::fft(8);
  REQUIRE(l8.layers() == 3);
  CHECK(l8.num_angles == 12);
  using P = std::vector<std::pair<int64_t, int64_t>>;
  CHECK(pairs(l8, 0) == P{{0, 4}, {1, 5}, {2, 6}, {3, 7}});
  CHECK(pairs(l8, 1) == P{{0, 2}, {1, 3}, {4, 6}, {5, 7}});
  CHECK(pairs(l8, 2) == P{{0, 1}, {2, 3}, {4, 5}, {6, 7}});
  // the thesis's GORU sizes: 64 (parenthesis) and 128 (denoise), H/2 angles per layer as GORU's varsize
  CHECK(nn::EunnLayout::fft(64).layers() == 6);
  CHECK(nn::EunnLayout::fft(64).num_angles == 192);
  CHECK(nn::EunnLayout::fft(128).num_angles == 448);
  // not a power of two: pairs only where both coordinates exist
  const nn::EunnLayout l6 = nn::EunnLayout::fft(6);
  REQUIRE(l6.layers() == 3);
  CHECK(pairs(l6, 0) == P{{0, 4}, {1, 5}});
  CHECK(pairs(l6, 1) == P{{0, 2}, {1, 3}});  // 4 and 5 have no partner 2 away
  CHECK(pairs(l6, 2) == P{{0, 1}, {2, 3}, {4, 5}});
  CHECK(l6.num_angles == 7);
  CHECK(nn::EunnLayout::fft(1).num_angles == 0);
}

TEST_CASE("EUNN tunable layout: alternating neighbour pairs, capacity layers", "[eunn]") {
  using P = std::vector<std::pair<int64_t, int64_t>>;
  const nn::EunnLayout l5 = nn::EunnLayout::tunable(5, 3);
  REQUIRE(l5.layers() == 3);
  CHECK(pairs(l5, 0) == P{{0, 1}, {2, 3}});
  CHECK(pairs(l5, 1) == P{{1, 2}, {3, 4}});
  CHECK(pairs(l5, 2) == P{{0, 1}, {2, 3}});
  CHECK(l5.num_angles == 6);
  // even H: GORU's hidden_size_a = H/2 and hidden_size_b = (H-1)/2 angles
  const nn::EunnLayout l8 = nn::EunnLayout::tunable(8, 2);
  CHECK(pairs(l8, 1) == P{{1, 2}, {3, 4}, {5, 6}});
  CHECK(l8.num_angles == 4 + 3);
  // coordinates left alone keep angle index num_angles (the appended zero) and sign 0
  CHECK(l8.angle[1][0] == l8.num_angles);
  CHECK(l8.angle[1][7] == l8.num_angles);
  CHECK(l8.sign[1][7] == 0.0);
  CHECK(l8.partner[1][7] == 7);
}

TEST_CASE("eunn_matrix equals the rotations applied one by one, and is orthogonal", "[eunn]") {
  for (const nn::EunnLayout& layout : {nn::EunnLayout::fft(8), nn::EunnLayout::fft(6), nn::EunnLayout::fft(64),
                                       nn::EunnLayout::tunable(7, 4), nn::EunnLayout::tunable(8, 2),
                                       nn::EunnLayout::fft(1)}) {
    const int64_t H = layout.hidden_size;
    INFO(layout.style << " H " << H);
    Generator gen(5);
    const Tensor theta = uniform({layout.num_angles}, -M_PI, M_PI, kFloat64, kCPU, &gen);
    const Tensor U = nn::eunn_matrix(theta, layout);
    REQUIRE(U.shape() == Shape({H, H}));
    CHECK(orthogonality_error(U) < 1e-13);
    const std::vector<double> th = values(theta), u = values(U);
    // column j of U is U e_j
    double worst = 0;
    for (int64_t j = 0; j < H; ++j) {
      std::vector<double> e(size_t(H), 0.0);
      e[size_t(j)] = 1.0;
      const std::vector<double> col = rotate(layout, th, e);
      for (int64_t i = 0; i < H; ++i) worst = std::max(worst, std::abs(col[size_t(i)] - u[size_t(i * H + j)]));
    }
    CHECK(worst < 1e-13);
    // float32 follows
    const Tensor U32 = nn::eunn_matrix(theta.to(kFloat32), layout);
    CHECK(U32.dtype() == kFloat32);
    CHECK(max_abs_diff(U32.to(kFloat64), U) < 1e-5);
  }
}

TEST_CASE("eunn_matrix: zero angles give the identity", "[eunn]") {
  const nn::EunnLayout layout = nn::EunnLayout::fft(16);
  const Tensor U = nn::eunn_matrix(zeros({layout.num_angles}, kFloat64), layout);
  CHECK(max_abs_diff(U, eye(16, -1, kFloat64)) == 0.0);
}

TEST_CASE("eunn_matrix: first and second derivatives in theta match finite differences", "[eunn][grad]") {
  for (const nn::EunnLayout& layout : {nn::EunnLayout::fft(6), nn::EunnLayout::tunable(5, 3)}) {
    INFO(layout.style);
    Generator gen(11);
    const Tensor theta = uniform({layout.num_angles}, -M_PI, M_PI, kFloat64, kCPU, &gen).requires_grad_();
    REQUIRE_GRADCHECK([&] { return nn::eunn_matrix(theta, layout); }, {theta});
    REQUIRE_GRADGRADCHECK([&] { return nn::eunn_matrix(theta, layout); }, {theta});
  }
}

TEST_CASE("eunn refuses bad arguments", "[eunn]") {
  REQUIRE_THROWS_NOVA(nn::EunnLayout::fft(0), "EunnLayout::fft: hidden_size must be >= 1, got 0");
  REQUIRE_THROWS_NOVA(nn::EunnLayout::tunable(4, 0), "need hidden_size >= 1 and capacity >= 1, got 4 and 0");
  const nn::EunnLayout layout = nn::EunnLayout::fft(4);
  REQUIRE_THROWS_NOVA(nn::eunn_matrix(zeros({3}), layout), "eunn_matrix: expected theta [4] for the fft layout of hidden size 4, got [3]");
  REQUIRE_THROWS_NOVA(nn::eunn_matrix(zeros({4}, kInt64), layout), "eunn_matrix: theta must be float32 or float64, got int64");
}
