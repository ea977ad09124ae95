// tests/test_conv_igemm.cpp: the index math of the CUDA implicit-GEMM
// convolution kernels (kernels/cuda/conv_igemm.h), on the CPU, in every
// build. The kernels are tiling around three "problem" structs whose element
// functions gather A, B and store C; here the same structs run in a naive
// GEMM (every m, n, k; the group and split-K ranges as the grid's z gives
// them) over raw float64 buffers, and the results are compared with the
// three maps written by their definition (plain loops) for geometries that
// hit every awkward case: strides 1..3, padding, dilation, groups and
// depthwise, non-square kernels, 1x1, P and Q shorter than the input allows,
// an empty batch, and split-K with ranges that do not divide the reduction;
// backward_data's stride phases cover every pixel once.
// Also: FastDiv against / and % (exhaustive for small operands, boundaries
// and random ones up to 2^31 - 1), filter_plan's invariants, and the fused
// epilogue's activation. The tiling itself runs only on a GPU
// (tests/test_conv_cuda.cpp).
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/cuda/conv_igemm.h"
#include "tests/test_util.h"

using namespace nova;
using namespace nova::cuda::igemm;

namespace {

/// A geometry with full output minus (dP, dQ) rows and columns.
Conv2dGeometry make_geometry(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                             int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh, int64_t dw, int64_t groups,
                             int64_t dP = 0, int64_t dQ = 0) {
  Conv2dGeometry g;
  g.N = N, g.C = C, g.H = H, g.W = W, g.K = K, g.R = R, g.S = S;
  g.stride_h = sh, g.stride_w = sw, g.pad_h = ph, g.pad_w = pw, g.dil_h = dh, g.dil_w = dw, g.groups = groups;
  g.P = (H + 2 * ph - dh * (R - 1) - 1) / sh + 1 - dP;
  g.Q = (W + 2 * pw - dw * (S - 1) - 1) / sw + 1 - dQ;
  return g;
}

std::string describe(const Conv2dGeometry& g) {
  std::ostringstream o;
  o << "N " << g.N << " C " << g.C << " H " << g.H << " W " << g.W << " K " << g.K << " R " << g.R << " S " << g.S
    << " P " << g.P << " Q " << g.Q << " stride (" << g.stride_h << ", " << g.stride_w << ") pad (" << g.pad_h
    << ", " << g.pad_w << ") dil (" << g.dil_h << ", " << g.dil_w << ") groups " << g.groups;
  return o.str();
}

std::vector<Conv2dGeometry> geometries() {
  return {
      make_geometry(2, 3, 7, 7, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1),       // CRS 27, K 5
      make_geometry(3, 3, 8, 8, 67, 3, 3, 1, 1, 1, 1, 1, 1, 1),      // K 67
      make_geometry(2, 4, 8, 8, 6, 4, 4, 2, 2, 1, 1, 1, 1, 2),       // DCGAN D's 4x4 stride 2, groups
      make_geometry(2, 4, 9, 8, 6, 3, 3, 1, 1, 2, 2, 2, 2, 1),       // dilation 2
      make_geometry(1, 8, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1, 1, 8),       // depthwise
      make_geometry(2, 1, 5, 5, 3, 1, 1, 1, 1, 0, 0, 1, 1, 1),       // CRS 1
      make_geometry(3, 5, 6, 7, 4, 1, 1, 1, 1, 0, 0, 1, 1, 1),       // 1x1, odd N*P*Q
      make_geometry(3, 2, 9, 7, 3, 2, 3, 2, 1, 0, 1, 1, 2, 1),       // non-square, mixed
      make_geometry(2, 3, 9, 9, 4, 5, 5, 1, 1, 2, 2, 1, 1, 1),       // CRS 75
      make_geometry(2, 4, 8, 8, 6, 4, 4, 2, 2, 1, 1, 1, 1, 2, 1, 2),  // P, Q shortened
      make_geometry(2, 2, 10, 11, 3, 3, 3, 3, 3, 2, 2, 2, 2, 1, 1, 0),  // stride 3, dilation 2, P shortened
      make_geometry(1, 2, 7, 7, 2, 3, 2, 3, 2, 0, 1, 1, 3, 1, 0, 1),  // stride (3, 2), dilation (1, 3)
      make_geometry(0, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1),       // empty batch
  };
}

std::vector<double> random_values(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> v(size_t(std::max<int64_t>(n, 0)));
  for (double& e : v) e = u(gen);
  return v;
}

/// The three maps by definition (float64 loops over every tap).
struct Reference {
  const Conv2dGeometry& g;
  int64_t Cg() const { return g.C / g.groups; }
  int64_t Kg() const { return g.K / g.groups; }
  /// calls f(n, k, p, q, c (global), r, s, ih, iw) for every tap inside the input
  template <typename F>
  void taps(F&& f) const {
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t k = 0; k < g.K; ++k)
        for (int64_t p = 0; p < g.P; ++p)
          for (int64_t q = 0; q < g.Q; ++q)
            for (int64_t cl = 0; cl < Cg(); ++cl)
              for (int64_t r = 0; r < g.R; ++r)
                for (int64_t s = 0; s < g.S; ++s) {
                  const int64_t ih = p * g.stride_h - g.pad_h + r * g.dil_h;
                  const int64_t iw = q * g.stride_w - g.pad_w + s * g.dil_w;
                  if (ih < 0 || ih >= g.H || iw < 0 || iw >= g.W) continue;
                  f(n, k, p, q, (k / Kg()) * Cg() + cl, cl, r, s, ih, iw);
                }
  }
  int64_t xi(int64_t n, int64_t c, int64_t h, int64_t w) const { return ((n * g.C + c) * g.H + h) * g.W + w; }
  int64_t yi(int64_t n, int64_t k, int64_t p, int64_t q) const { return ((n * g.K + k) * g.P + p) * g.Q + q; }
  int64_t wi(int64_t k, int64_t cl, int64_t r, int64_t s) const { return ((k * Cg() + cl) * g.R + r) * g.S + s; }

  std::vector<double> forward(const std::vector<double>& x, const std::vector<double>& w,
                              const std::vector<double>& b) const {
    std::vector<double> y(size_t(g.N * g.K * g.P * g.Q), 0.0);
    for (int64_t n = 0; n < g.N; ++n)
      for (int64_t k = 0; k < g.K; ++k)
        for (int64_t pq = 0; pq < g.P * g.Q; ++pq) y[size_t((n * g.K + k) * g.P * g.Q + pq)] = b[size_t(k)];
    taps([&](int64_t n, int64_t k, int64_t p, int64_t q, int64_t c, int64_t cl, int64_t r, int64_t s, int64_t ih,
             int64_t iw) { y[size_t(yi(n, k, p, q))] += x[size_t(xi(n, c, ih, iw))] * w[size_t(wi(k, cl, r, s))]; });
    return y;
  }
  std::vector<double> backward_data(const std::vector<double>& gy, const std::vector<double>& w) const {
    std::vector<double> gx(size_t(g.N * g.C * g.H * g.W), 0.0);
    taps([&](int64_t n, int64_t k, int64_t p, int64_t q, int64_t c, int64_t cl, int64_t r, int64_t s, int64_t ih,
             int64_t iw) { gx[size_t(xi(n, c, ih, iw))] += gy[size_t(yi(n, k, p, q))] * w[size_t(wi(k, cl, r, s))]; });
    return gx;
  }
  std::vector<double> backward_filter(const std::vector<double>& x, const std::vector<double>& gy) const {
    std::vector<double> gw(size_t(g.K * Cg() * g.R * g.S), 0.0);
    taps([&](int64_t n, int64_t k, int64_t p, int64_t q, int64_t c, int64_t cl, int64_t r, int64_t s, int64_t ih,
             int64_t iw) { gw[size_t(wi(k, cl, r, s))] += gy[size_t(yi(n, k, p, q))] * x[size_t(xi(n, c, ih, iw))]; });
    return gw;
  }
};

/// The kernels' GEMM without the tiling: for every grid z = (group, split),
/// every (m, n) of C and the split's reduction range, through the problem's
/// element functions exactly as TileLoader and the epilogue call them.
template <typename Prob>
void emulate(const Prob& prob, int groups, int chunk, int splits) {
  for (int z = 0; z < groups * splits; ++z) {
    const int grp = z / splits, split = z % splits;
    const int k_begin = split * chunk, k_end = std::min(prob.reduction(), k_begin + chunk);
    for (int m = 0; m < prob.rows(); ++m) {
      const typename Prob::ARow row = prob.a_row(grp, m);
      for (int n = 0; n < prob.cols(); ++n) {
        const typename Prob::BCol col = prob.b_col(grp, n);
        double acc = 0.0;
        for (int k = k_begin; k < k_end; ++k) acc += prob.a(row, k) * prob.b(col, k);
        prob.store(grp, split, m, n, acc);
      }
    }
  }
}

void require_close(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  double worst = 0.0;
  for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::abs(got[i] - want[i]));
  REQUIRE(worst <= 1e-12);
}

}  // namespace

TEST_CASE("FastDiv divides like / and % on every operand below 2^31", "[conv][igemm]") {
  std::vector<int64_t> divisors;
  for (int64_t d = 1; d <= 1100; ++d) divisors.push_back(d);
  const std::vector<int64_t> large = {2047,      2048, 2049, 4608, 65535, 65536, 65537, 1 << 20, (1 << 20) + 1,
                                     123456789, (int64_t(1) << 30) - 1, int64_t(1) << 30, (int64_t(1) << 30) + 1,
                                     (int64_t(1) << 31) - 1};
  divisors.insert(divisors.end(), large.begin(), large.end());
  std::mt19937 gen(17);
  std::uniform_int_distribution<int> any(0, 0x7fffffff);
  for (int64_t d : divisors) {
    const FastDiv f(d);
    std::vector<int> ns;
    for (int n = 0; n < 3000; ++n) ns.push_back(n);
    for (int64_t m : {int64_t(1), int64_t(2), int64_t(1000), int64_t(65536), (int64_t(1) << 31) / d - 1,
                      (int64_t(1) << 31) / d}) {
      for (int64_t delta : {-1, 0, 1}) {
        const int64_t n = m * d + delta;
        if (n >= 0 && n <= 0x7fffffff) ns.push_back(int(n));
      }
    }
    ns.push_back(0x7fffffff);
    for (int i = 0; i < 2000; ++i) ns.push_back(any(gen));
    int wrong = 0;
    for (int n : ns) {
      int r = -1;
      const int q = f.divmod(n, &r);
      wrong += q != n / int(d) || r != n % int(d);
    }
    INFO("divisor " << d);
    REQUIRE(wrong == 0);
  }
  REQUIRE(FastDiv(0).div(7) == 7);  // an empty dim's divisor is taken as 1
}

TEST_CASE("implicit-GEMM forward gathers the convolution (index math)", "[conv][igemm]") {
  for (const Conv2dGeometry& g : geometries()) {
    for (ConvEpilogue::Activation act :
         {ConvEpilogue::Activation::none, ConvEpilogue::Activation::relu, ConvEpilogue::Activation::leaky_relu}) {
      INFO(describe(g) << ", activation " << int(act));
      REQUIRE(igemm_supported(g));
      const Reference ref{g};
      const std::vector<double> x = random_values(g.N * g.C * g.H * g.W, 1);
      const std::vector<double> w = random_values(g.K * ref.Cg() * g.R * g.S, 2);
      const std::vector<double> b = random_values(g.K, 3);
      std::vector<double> want = ref.forward(x, w, b);
      for (double& v : want)
        v = act == ConvEpilogue::Activation::none ? v
            : act == ConvEpilogue::Activation::relu ? (v > 0 ? v : 0.0)
                                                    : (v > 0 ? v : 0.2 * v);
      std::vector<double> y(want.size(), -99.0);
      ForwardProblem<double> prob{Dims(g), x.data(), w.data(), b.data(), y.data(), act, 0.2};
      emulate(prob, int(g.groups), prob.reduction(), 1);
      require_close(y, want);
    }
  }
}

TEST_CASE("implicit-GEMM backward_data gathers the adjoint taps (index math)", "[conv][igemm]") {
  for (const Conv2dGeometry& g : geometries()) {
    INFO(describe(g));
    const Reference ref{g};
    const std::vector<double> gy = random_values(g.N * g.K * g.P * g.Q, 4);
    const std::vector<double> w = random_values(g.K * ref.Cg() * g.R * g.S, 5);
    const std::vector<double> want = ref.backward_data(gy, w);
    std::vector<double> gx(want.size(), -99.0);  // every element is stored, taps or not
    BackwardDataProblem<double> prob{Dims(g), gy.data(), w.data(), gx.data()};
    emulate(prob, int(g.groups), prob.reduction(), 1);
    require_close(gx, want);
  }
}

TEST_CASE("implicit-GEMM backward_data by stride phases covers every pixel once (index math)", "[conv][igemm]") {
  // every geometry, stride 1 included (one phase, every tap)
  for (const Conv2dGeometry& g : geometries()) {
    INFO(describe(g));
    const Reference ref{g};
    const std::vector<double> gy = random_values(g.N * g.K * g.P * g.Q, 8);
    const std::vector<double> w = random_values(g.K * ref.Cg() * g.R * g.S, 9);
    const std::vector<double> want = ref.backward_data(gy, w);
    std::vector<double> gx(want.size(), -99.0);  // a pixel no phase stores stays -99
    std::vector<int> stores(want.size(), 0);
    int64_t products = 0;
    for (int64_t rho_h = 0; rho_h < g.stride_h; ++rho_h)
      for (int64_t rho_w = 0; rho_w < g.stride_w; ++rho_w) {
        const StridePhase phase = make_phase(g, rho_h, rho_w);
        BackwardDataPhaseProblem<double> prob{Dims(g), phase, gy.data(), w.data(), gx.data()};
        emulate(prob, int(g.groups), prob.reduction(), 1);
        products += int64_t(prob.rows()) * prob.cols() * prob.reduction() * g.groups;
        for (int n = 0; n < prob.cols(); ++n) {
          int img, h, w_;
          prob.pixel(n, &img, &h, &w_);
          REQUIRE(h < g.H);
          REQUIRE(w_ < g.W);
          for (int64_t c = 0; c < g.C; ++c) ++stores[size_t(((img * g.C + c) * g.H + h) * g.W + w_)];
        }
      }
    for (int s : stores) REQUIRE(s == 1);
    require_close(gx, want);
    // no more products than the stride-1 gather, fewer at stride > 1
    const int64_t gather = g.N * g.H * g.W * g.C * g.group_filters() * g.R * g.S;
    REQUIRE(products <= gather);
    if (g.N > 0 && g.stride_h * g.stride_w > 1 && g.R >= g.stride_h && g.S >= g.stride_w) REQUIRE(products < gather);
  }
}

TEST_CASE("implicit-GEMM backward_filter with split-K sums in split order (index math)", "[conv][igemm]") {
  for (const Conv2dGeometry& g : geometries()) {
    const Reference ref{g};
    const std::vector<double> x = random_values(g.N * g.C * g.H * g.W, 6);
    const std::vector<double> gy = random_values(g.N * g.K * g.P * g.Q, 7);
    const std::vector<double> want = ref.backward_filter(x, gy);
    const int red = int(g.N * g.P * g.Q);
    for (int chunk : {16, 48, std::max(red, 1)}) {
      INFO(describe(g) << ", chunk " << chunk);
      const int splits = std::max(1, (red + chunk - 1) / chunk);
      std::vector<double> ws(size_t(splits) * want.size(), -99.0);
      BackwardFilterProblem<double> prob{Dims(g), x.data(), gy.data(), ws.data()};
      emulate(prob, int(g.groups), chunk, splits);
      std::vector<double> gw(want.size());
      for (size_t i = 0; i < gw.size(); ++i) {
        double s = ws[i];
        for (int k = 1; k < splits; ++k) s += ws[size_t(k) * gw.size() + i];
        gw[i] = s;
      }
      require_close(gw, want);
    }
  }
}

TEST_CASE("filter_plan covers the reduction exactly and bounds its workspace", "[conv][igemm]") {
  std::vector<Conv2dGeometry> gs = geometries();
  // SN-GAN's and DCGAN's shapes at batch 64 and 128
  for (int64_t N : {64, 128}) {
    gs.push_back(make_geometry(N, 256, 8, 8, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1));
    gs.push_back(make_geometry(N, 256, 32, 32, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1));
    gs.push_back(make_geometry(N, 256, 32, 32, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1));
    gs.push_back(make_geometry(N, 3, 32, 32, 128, 3, 3, 1, 1, 1, 1, 1, 1, 1));
    gs.push_back(make_geometry(N, 128, 16, 16, 128, 1, 1, 1, 1, 0, 0, 1, 1, 1));
    gs.push_back(make_geometry(N, 256, 8, 8, 512, 4, 4, 2, 2, 1, 1, 1, 1, 1));
    gs.push_back(make_geometry(N, 512, 8, 8, 512, 3, 3, 1, 1, 1, 1, 1, 1, 512));  // depthwise
  }
  for (const Conv2dGeometry& g : gs) {
    INFO(describe(g));
    const FilterPlan plan = filter_plan(g);
    const int64_t red = g.N * g.P * g.Q;
    REQUIRE(plan.splits >= 1);
    REQUIRE(plan.chunk % 16 == 0);
    REQUIRE(int64_t(plan.splits) * plan.chunk >= red);
    if (red > 0) REQUIRE(int64_t(plan.splits - 1) * plan.chunk < red);  // no empty split
    REQUIRE(plan.workspace == (plan.splits > 1 ? plan.splits * g.K * g.column_rows() : 0));
    REQUIRE(g.groups * plan.splits <= 65535);
  }
  // a long reduction with few output tiles is split
  REQUIRE(filter_plan(make_geometry(128, 256, 32, 32, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1)).splits > 1);
}

TEST_CASE("igemm_supported refuses geometries past 32-bit indices", "[conv][igemm]") {
  REQUIRE(igemm_supported(make_geometry(128, 512, 48, 48, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
  REQUIRE_FALSE(igemm_supported(make_geometry(1024, 512, 64, 64, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1)));
  REQUIRE_FALSE(igemm_supported(make_geometry(1, 70000, 3, 3, 70000, 1, 1, 1, 1, 0, 0, 1, 1, 70000)));
}

TEST_CASE("micro_index maps every thread's micro-tile onto the tile once", "[conv][igemm]") {
  struct Dim {
    int extent, micro, vec;
  };
  // every (BM, TM) and (BN, TN) of kernels/cuda/conv_igemm.cu's fma tiles, float (vec 4) and double (vec 2)
  const std::vector<Dim> dims = {{128, 8, 4}, {64, 4, 4}, {32, 2, 4}, {16, 2, 4}, {256, 8, 4}, {128, 8, 4},
                                 {64, 4, 2},  {32, 2, 2}, {128, 8, 2}, {16, 2, 2}};
  for (const Dim& d : dims) {
    INFO("extent " << d.extent << ", micro " << d.micro << ", vec " << d.vec);
    std::vector<int> hits(size_t(d.extent), 0);
    for (int t = 0; t < d.extent / d.micro; ++t)
      for (int i = 0; i < d.micro; ++i) {
        const int at = micro_index(i, t, d.extent, d.micro, d.vec);
        REQUIRE(at >= 0);
        REQUIRE(at < d.extent);
        ++hits[size_t(at)];
        // a 16-byte run starts on a multiple of vec and stays consecutive
        if (d.micro % d.vec == 0) {
          REQUIRE((at - i % d.vec) % d.vec == 0);
        }
      }
    for (int h : hits) REQUIRE(h == 1);
  }
}
