// tests/test_symconv.cpp: SCNN's symmetric convolutions and packed maps
// (core/symconv.h) on the CPU:
//   - sym_pack / sym_unpack: layout, round trip, and gradients (unpack's
//     sums the two positions of an off-diagonal entry);
//   - each convolution equals nova's ordinary conv2d with the full kernel
//     W(S) / Q(R) on the unpacked input (the self-Cartesian product for the
//     generating one), over kernel sizes 1-3 and padding 0-1, float64 (1e-12)
//     and float32; the full conv2d's output is symmetric (Theorem 6);
//   - the weight gradients equal Theorem 7 and (4.11) applied by hand to the
//     full kernel's gradient, and every input passes gradcheck and
//     gradgradcheck in float64;
//   - a batch big enough for the threaded CPU path; grad_split's fused path;
//   - bad inputs throw nova::Error naming the op and what came.
#include <string>
#include <vector>

#include "core/grad_split.h"
#include "kernels/symconv.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::test;

namespace {

/// Theorem 7 / (4.11) by hand: [P, c, F] from a full kernel gradient
/// gw [F, c_full, C, C] whose channel k and k + c (when `halves`) share S's k.
Tensor fold_kernel_grad(const Tensor& gw, int64_t channels, bool halves) {
  const int64_t F = gw.size(0), C = gw.size(2), P = C * (C + 1) / 2;
  std::vector<double> g = values(gw), out(size_t(P * channels * F), 0.0);
  const int64_t full_channels = gw.size(1);
  auto at = [&](int64_t f, int64_t k, int64_t a, int64_t b) {
    return g[size_t(((f * full_channels + k) * C + a) * C + b)];
  };
  for (int64_t a = 0; a < C; ++a)
    for (int64_t b = a; b < C; ++b)
      for (int64_t k = 0; k < channels; ++k)
        for (int64_t f = 0; f < F; ++f) {
          double v = at(f, k, a, b) + (a != b ? at(f, k, b, a) : 0.0);
          if (halves) v += at(f, k + channels, a, b) + (a != b ? at(f, k + channels, b, a) : 0.0);
          out[size_t((sym_tri(a, b) * channels + k) * F + f)] = v;
        }
  return from_vector(out, {P, channels, F}, kFloat64);
}

/// The largest |z - z^T| over a full map [.., L, L].
double asymmetry(const Tensor& z) { return max_abs_diff(z, ops::transpose(z, -1, -2).contiguous()); }

struct Case {
  int64_t N, channels, L, F, C, pad;
};
// Which CPU paths (kernels/cpu/symconv.cpp) they reach: the 1x1 layers
// per-image GEMMs in place (L 5 and 24: kInPlaceMinEntries) or gathered
// chunks (L 3); the others the channel-last fold with the entry tables'
// adjoint (short rows) or, at L 26 and 27, the runs (kMinMeanRun)
const std::vector<Case> kCases = {{2, 3, 5, 4, 1, 0},  {2, 3, 5, 4, 2, 0},  {3, 2, 5, 3, 3, 0},
                                  {2, 3, 4, 4, 3, 1},  {1, 2, 6, 5, 2, 1},  {2, 1, 3, 2, 3, 2},
                                  {1, 2, 26, 3, 3, 1}, {2, 2, 27, 2, 3, 0}, {2, 3, 24, 2, 1, 0},
                                  {3, 2, 3, 2, 1, 0}};

}  // namespace

// ---- packed maps ----

TEST_CASE("sym_pack keeps the lower triangle row by row and sym_unpack mirrors it", "[symconv]") {
  Tensor full = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3});
  REQUIRE(values(ops::sym_pack(full)) == std::vector<double>{1, 4, 5, 7, 8, 9});
  Tensor packed = from_vector<double>({1, 4, 5, 7, 8, 9}, {1, 6});
  REQUIRE(values(ops::sym_unpack(packed)) == std::vector<double>{1, 4, 7, 4, 5, 8, 7, 8, 9});
  Tensor x = randn({2, 3, 10}, kFloat64);  // L = 4
  REQUIRE(max_abs_diff(ops::sym_pack(ops::sym_unpack(x)), x) == 0.0);
  REQUIRE(asymmetry(ops::sym_unpack(x)) == 0.0);
  REQUIRE(ops::sym_side("t", 15) == 5);
}

TEST_CASE("sym_unpack's gradient sums both positions of an entry; both pass gradcheck", "[symconv][grad]") {
  Tensor p = leaf({2, 6});
  ops::sum(ops::sym_unpack(p) * from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3})).backward();
  // entry (1, 0) is positions (1, 0) and (0, 1): weights 4 + 2
  REQUIRE(values(p.grad()) == std::vector<double>{1, 6, 5, 10, 14, 9, 1, 6, 5, 10, 14, 9});
  REQUIRE(gradcheck([&] { return ops::sym_unpack(p); }, {p}));
  Tensor z = leaf({2, 4, 4});
  REQUIRE(gradcheck([&] { return ops::sym_pack(z); }, {z}));
}

// ---- the convolutions against conv2d ----

TEST_CASE("sym_preserving_conv2d equals conv2d with Q(R) on the unpacked map", "[symconv]") {
  for (const Case& c : kCases) {
    INFO("N " << c.N << " m " << c.channels << " L " << c.L << " F " << c.F << " C " << c.C << " pad " << c.pad);
    const int64_t P = c.C * (c.C + 1) / 2;
    Tensor x = randn({c.N, c.channels, c.L * (c.L + 1) / 2}, kFloat64);
    Tensor r = randn({P, c.channels, c.F}, kFloat64), b = randn({c.F}, kFloat64);
    Tensor full = ops::conv2d(ops::sym_unpack(x), ops::sym_preserving_kernel(r), b, Conv2dArgs().padding(c.pad));
    REQUIRE(asymmetry(full) <= 1e-12);  // the output of a symmetric kernel on a symmetric map
    Tensor packed = ops::sym_preserving_conv2d(x, r, b, c.pad);
    REQUIRE(max_abs_diff(packed, ops::sym_pack(full)) <= 1e-12);
    // float32 on the same values
    Tensor packed32 = ops::sym_preserving_conv2d(x.to(kFloat32), r.to(kFloat32), b.to(kFloat32), c.pad);
    REQUIRE(max_abs_diff(packed32.to(kFloat64), packed) <= 1e-4);
  }
}

TEST_CASE("sym_generating_conv2d equals conv2d with W(S) on the self-Cartesian product", "[symconv]") {
  for (const Case& c : kCases) {
    INFO("N " << c.N << " n " << c.channels << " L " << c.L << " F " << c.F << " C " << c.C << " pad " << c.pad);
    const int64_t P = c.C * (c.C + 1) / 2;
    Tensor x = randn({c.N, c.L, c.channels}, kFloat64);
    Tensor s = randn({P, c.channels, c.F}, kFloat64), b = randn({c.F}, kFloat64);
    Tensor product = ops::self_cartesian_product(x);
    REQUIRE(product.shape() == Shape{c.N, 2 * c.channels, c.L, c.L});
    Tensor full = ops::conv2d(product, ops::sym_generating_kernel(s), b, Conv2dArgs().padding(c.pad));
    REQUIRE(asymmetry(full) <= 1e-12);  // Theorem 6
    Tensor packed = ops::sym_generating_conv2d(x, s, b, c.pad);
    REQUIRE(max_abs_diff(packed, ops::sym_pack(full)) <= 1e-12);
    Tensor packed32 = ops::sym_generating_conv2d(x.to(kFloat32), s.to(kFloat32), b.to(kFloat32), c.pad);
    REQUIRE(max_abs_diff(packed32.to(kFloat64), packed) <= 1e-4);
  }
}

TEST_CASE("the self-Cartesian product stacks x_i over x_j as (4.1) writes it", "[symconv]") {
  Tensor x = from_vector<double>({1, 2, 3, 4, 5, 6}, {1, 3, 2});  // x_0 = (1, 2), x_1 = (3, 4), x_2 = (5, 6)
  Tensor y = ops::self_cartesian_product(x);                      // [1, 4, 3, 3]
  // position (i, j) = (2, 0): channels (x_2, x_0)
  std::vector<double> at;
  for (int64_t k = 0; k < 4; ++k) at.push_back(y.narrow(1, k, 1).narrow(2, 2, 1).narrow(3, 0, 1).item<double>());
  REQUIRE(at == std::vector<double>{5, 6, 1, 2});
}

// ---- gradients ----

TEST_CASE("sym_preserving_conv2d's R gradient is (4.11) of the full kernel's gradient", "[symconv][grad]") {
  for (const Case& c : kCases) {
    INFO("C " << c.C << " pad " << c.pad);
    const int64_t P = c.C * (c.C + 1) / 2;
    Tensor x = leaf({c.N, c.channels, c.L * (c.L + 1) / 2});
    Tensor r = leaf({P, c.channels, c.F});
    const int64_t Lout = c.L + 2 * c.pad - c.C + 1;
    Tensor weights = randn({c.N, c.F, Lout, Lout}, kFloat64);  // not symmetric: a general loss of the full map
    ops::sum(ops::sym_unpack(ops::sym_preserving_conv2d(x, r, {}, c.pad)) * weights).backward();
    Tensor q = ops::sym_preserving_kernel(r.detach()).detach().requires_grad_();
    Tensor x2 = x.detach().clone().requires_grad_();
    ops::sum(ops::conv2d(ops::sym_unpack(x2), q, {}, Conv2dArgs().padding(c.pad)) * weights).backward();
    REQUIRE(max_abs_diff(r.grad(), fold_kernel_grad(q.grad(), c.channels, false)) <= 1e-11);
    REQUIRE(max_abs_diff(x.grad(), x2.grad()) <= 1e-11);  // backward-data: through sym_unpack's adjoint
  }
}

TEST_CASE("sym_generating_conv2d's S gradient is Theorem 7 of the full kernel's gradient", "[symconv][grad]") {
  for (const Case& c : kCases) {
    INFO("C " << c.C << " pad " << c.pad);
    const int64_t P = c.C * (c.C + 1) / 2;
    Tensor x = randn({c.N, c.L, c.channels}, kFloat64);
    Tensor s = leaf({P, c.channels, c.F});
    const int64_t Lout = c.L + 2 * c.pad - c.C + 1;
    Tensor weights = randn({c.N, c.F, Lout, Lout}, kFloat64);
    ops::sum(ops::sym_unpack(ops::sym_generating_conv2d(x, s, {}, c.pad)) * weights).backward();
    Tensor w = ops::sym_generating_kernel(s.detach()).detach().requires_grad_();
    ops::sum(ops::conv2d(ops::self_cartesian_product(x), w, {}, Conv2dArgs().padding(c.pad)) * weights).backward();
    REQUIRE(max_abs_diff(s.grad(), fold_kernel_grad(w.grad(), c.channels, true)) <= 1e-11);
  }
}

TEST_CASE("both symmetric convolutions pass gradcheck and gradgradcheck in every input", "[symconv][grad]") {
  for (int64_t pad : {0, 1}) {
    INFO("pad " << pad);
    Tensor xp = leaf({2, 3, 10}), r = leaf({3, 3, 2}), br = leaf({2});  // L 4, C 2
    REQUIRE(gradcheck([&] { return ops::sym_preserving_conv2d(xp, r, br, pad); }, {xp, r, br}));
    REQUIRE(gradgradcheck([&] { return ops::sym_preserving_conv2d(xp, r, br, pad); }, {xp, r, br}));
    Tensor xs = leaf({2, 4, 3}), s = leaf({6, 3, 2}), bs = leaf({2});  // L 4, C 3
    REQUIRE(gradcheck([&] { return ops::sym_generating_conv2d(xs, s, bs, pad); }, {xs, s, bs}));
    REQUIRE(gradgradcheck([&] { return ops::sym_generating_conv2d(xs, s, bs, pad); }, {xs, s, bs}));
  }
  Tensor r = leaf({6, 2, 3});
  REQUIRE(gradcheck([&] { return ops::sym_preserving_kernel(r); }, {r}));
}

TEST_CASE("a batch big enough for threads gives the unthreaded result", "[symconv]") {
  // 128 images x 64 filters x 6 pairs x 32 channels x 15 outputs passes the 2^20 threshold
  Tensor x = randn({128, 32, 28}, kFloat64), r = randn({6, 32, 64}, kFloat64);  // L 7, C 3, pad 0 -> L' 5
  Tensor y = ops::sym_preserving_conv2d(x, r);
  Tensor one = ops::sym_preserving_conv2d(x.narrow(0, 77, 1), r);
  REQUIRE(max_abs_diff(y.narrow(0, 77, 1), one) <= 1e-12);
  Tensor full = ops::conv2d(ops::sym_unpack(x), ops::sym_preserving_kernel(r));
  REQUIRE(max_abs_diff(y, ops::sym_pack(full)) <= 1e-11);
}

TEST_CASE("a 1x1 layer on images of 256+ entries runs in place, threaded, with the gradients of conv2d",
          "[symconv][grad]") {
  // L 24: 300 entries per image, one image per chunk, so the GEMMs read x and grad_y where they are
  Tensor x = leaf({16, 32, 300}), r = leaf({1, 32, 64}), b = leaf({64});
  Tensor weights = randn({16, 64, 24, 24}, kFloat64);
  Tensor y = ops::sym_preserving_conv2d(x, r, b);
  REQUIRE(max_abs_diff(y.narrow(0, 9, 1), ops::sym_preserving_conv2d(x.detach().narrow(0, 9, 1), r.detach(),
                                                                     b.detach())) <= 1e-12);
  ops::sum(ops::sym_unpack(y) * weights).backward();
  Tensor x2 = x.detach().clone().requires_grad_(), q = ops::sym_preserving_kernel(r.detach()).requires_grad_();
  Tensor full = ops::conv2d(ops::sym_unpack(x2), q, b.detach());
  REQUIRE(max_abs_diff(y.detach(), ops::sym_pack(full.detach())) <= 1e-11);
  ops::sum(full * weights).backward();
  REQUIRE(max_abs_diff(x.grad(), x2.grad()) <= 1e-10);
  REQUIRE(max_abs_diff(r.grad(), fold_kernel_grad(q.grad(), 32, false)) <= 1e-10);
}

TEST_CASE("grad_split's fused path splits a symmetric net's gradients like the reference",
          "[symconv][grad_split]") {
  using autograd::GradSplitMode;
  Tensor s = leaf({1, 3, 4}), bs = leaf({4}), r = leaf({6, 4, 2}), br = leaf({2});
  Tensor x = uniform({5, 5, 3}, -1, 1, kFloat64);
  Tensor h = ops::tanh(ops::sym_generating_conv2d(x, s, bs));     // [5, 4, 15]
  Tensor out = ops::mean(ops::sym_preserving_conv2d(h, r, br), {1, 2});  // [5]
  std::vector<Tensor> losses = {ops::mean(ops::softplus(-out.narrow(0, 0, 2))),
                                ops::mean(ops::softplus(out.narrow(0, 2, 3)))};
  std::vector<Tensor> params = {s, bs, r, br};
  auto reference = autograd::grad_split(losses, params);
  auto fused = autograd::grad_split(losses, params, {GradSplitMode::fused, out, {2, 3}});
  for (size_t k = 0; k < 2; ++k) {
    INFO("loss " << k);
    REQUIRE(max_abs_diff(fused[k], reference[k]) <= 1e-12);
  }
}

// ---- bad inputs ----

TEST_CASE("the symmetric convolutions reject bad ranks, channels, triangles and sizes", "[symconv][errors]") {
  Tensor xp = randn({2, 3, 15}, kFloat64), r = randn({6, 3, 4}, kFloat64);
  REQUIRE_THROWS_NOVA(ops::sym_preserving_conv2d(randn({2, 3, 14}, kFloat64), r),
                      "sym_preserving_conv2d: 14 is not a triangle's entry count L(L+1)/2");
  REQUIRE_THROWS_NOVA(ops::sym_preserving_conv2d(xp, randn({5, 3, 4}, kFloat64)),
                      "sym_preserving_conv2d: 5 is not a triangle's entry count");
  REQUIRE_THROWS_NOVA(ops::sym_preserving_conv2d(xp, randn({6, 2, 4}, kFloat64)),
                      "sym_preserving_conv2d: weight [6, 2, 4] expects 2 input channels, input [2, 3, 15] has 3");
  REQUIRE_THROWS_NOVA(ops::sym_preserving_conv2d(randn({2, 3, 3}, kFloat64), r),
                      "sym_preserving_conv2d: a 3x3 kernel does not fit the 2x2 map with padding 0");
  REQUIRE_THROWS_NOVA(ops::sym_preserving_conv2d(randn({3, 15}, kFloat64), r),
                      "sym_preserving_conv2d: input must be 3-D [N, m, L(L+1)/2] (packed), got [3, 15]");
  REQUIRE_THROWS_NOVA(ops::sym_preserving_conv2d(xp, r, randn({3}, kFloat64)),
                      "sym_preserving_conv2d: bias must be [4], got [3]");
  REQUIRE_THROWS_NOVA(ops::sym_preserving_conv2d(xp, r.to(kFloat32)), "sym_preserving_conv2d");
  REQUIRE_THROWS_NOVA(ops::sym_preserving_conv2d(xp, r, {}, -1), "sym_preserving_conv2d: padding must be >= 0");
  REQUIRE_THROWS_NOVA(ops::sym_generating_conv2d(randn({2, 5, 3}, kFloat64), randn({1, 4, 2}, kFloat64)),
                      "sym_generating_conv2d: weight [1, 4, 2] expects sequences of 4 features, input [2, 5, 3] has 3");
  REQUIRE_THROWS_NOVA(ops::sym_unpack(randn({2, 7}, kFloat64)), "sym_unpack: 7 is not a triangle's entry count");
  REQUIRE_THROWS_NOVA(ops::sym_pack(randn({2, 3, 4}, kFloat64)),
                      "sym_pack: input must end in a square [.., L, L], got [2, 3, 4]");
}
