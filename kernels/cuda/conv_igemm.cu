// kernels/cuda/conv_igemm.cu: nova's implicit-GEMM convolution kernels, the
// fast CUDA path of conv2d_forward / backward_data / backward_filter
// (kernels/cuda/conv.cu dispatches here for every geometry igemm_supported()
// takes). Each pass is a GEMM per group whose operands are gathered on the
// fly from the tensors by the problem structs of kernels/cuda/conv_igemm.h
// (the index math, tested on the CPU there); this file holds only the tiling:
//
//   fma_kernel   exact float32 / float64 FMA. A block computes a BM x BN
//                tile of C, looping over the reduction BK at a time: each
//                thread loads its share of the A (BM x BK) and B (BK x BN)
//                slices into registers, they are stored to shared memory
//                (A k-major, so a thread's micro-tile reads are one row), and
//                each thread accumulates a TM x TN micro-tile made of runs of
//                V = 4 floats / 2 doubles (one 16-byte shared load each), run
//                c of thread ty at rows c * (BM/TM) * V + ty * V .. + V-1, and
//                likewise for columns (micro_index in conv_igemm.h; a micro
//                size that is not a multiple of the run falls back to strided
//                rows ty, ty + BM/TM, ...). A warp's loads are consecutive
//                16-byte words or broadcasts: no bank conflicts.
//                Two shared buffers: the next slice's global loads are issued
//                before the current slice's math and stored after it, one
//                __syncthreads per slice.
//                Tiles (BM x BN x BK, micro-tile), all 256 threads, the
//                largest that still fills about one wave of SMs (run()):
//                float32 128x128x8 (8x8), 128x64x8 (8x4), 64x64x16 (4x4);
//                for few rows (K or Cg: a generator's RGB output, a
//                discriminator's RGB input in backward-data) 32x128x16 (2x8)
//                for <= 32 and, float32, 16x256x16 (2x8) for <= 16. float64:
//                64x64x16 and 32x128x16 (shared memory caps its tiles).
//   tf32_kernel  float32 when cuda::allow_tf32(): the same loads and double
//                buffer, the slices rounded to TF32 (cvt.rna) as they are
//                stored, and each warp computing a WM x WN tile with
//                mma.sync.m16n8k8 (PTX fragment layout: a lane's groupID =
//                lane / 4 and tig = lane % 4 hold A(gid (+8), tig (+4)),
//                B(tig (+4), gid) and C(gid (+8), 2 tig (+1))), accumulating
//                in float32. Tiles 128x128x16 (8 warps of 64x32), 64x64x16
//                (4 warps of 32x32) and, for <= 32 rows, 32x128x16 (4 warps
//                of 32x32). Shared rows padded to 8 mod 32 words so
//                the fragment reads (8 * tig + gid) hit 32 distinct banks.
//
// backward_data at stride 1 gathers, for each grad_x element, all Kg*R*S
// taps (BackwardDataProblem). At stride s > 1 most of those taps miss the
// output grid, so grad_x is cut into its s_h * s_w stride phases, one launch
// each (BackwardDataPhaseProblem), whose reduction holds only the taps that
// land on the grid: no structural zeros (DCGAN D's 4x4 stride-2 convs would
// otherwise do 4x the products).
//
// backward_filter's reduction (N*P*Q) is long and its output small, so it is
// split into filter_plan(g).splits ranges, one grid z-slice each, written to
// the workspace and summed in split order by sum_splits: deterministic, no
// atomics. The forward's epilogue adds the bias and applies the fused
// activation (conv_activate, kernels/conv.h) before the store.
#include "kernels/cuda/conv_igemm.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/check.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/runtime.h"

namespace nova::cuda::igemm {

namespace {

/// The grid-z index decoded: group and split-K range [k_begin, k_end).
struct Slice {
  int grp, split, k_begin, k_end;
};
__device__ __forceinline__ Slice slice_of(int Kred, int chunk, int splits) {
  Slice s;
  s.grp = int(blockIdx.z) / splits;
  s.split = int(blockIdx.z) - s.grp * splits;
  s.k_begin = s.split * chunk;
  s.k_end = min(Kred, s.k_begin + chunk);
  return s;
}

/// The global -> register half of a tile's loads, shared by both kernels.
/// Thread tid loads A elements (m0 + a_m + i * NT/BK, k + a_k) for i < LA
/// (consecutive threads: consecutive k, so w's rows are read coalesced) and
/// B elements (k + b_k + i * NT/BN, n0 + b_n) for i < LB (consecutive
/// threads: consecutive n, so x's pixels are read coalesced). The row and
/// column decoding (a_row, b_col) happens once, here in the constructor.
template <typename T, typename Prob, int BM, int BN, int BK, int NT>
struct TileLoader {
  static constexpr int LA = BM * BK / NT, LB = BK * BN / NT;
  static constexpr int kAStep = NT / BK, kBStep = NT / BN;
  static_assert(NT % BK == 0 && BM % kAStep == 0 && BM * BK == LA * NT, "A tile does not split over the threads");
  static_assert(NT % BN == 0 && BK % kBStep == 0 && BK * BN == LB * NT, "B tile does not split over the threads");

  int a_k, a_m, b_k, b_n;
  bool a_ok[LA], b_ok;
  typename Prob::ARow arow[LA];
  typename Prob::BCol bcol;
  T ra[LA], rb[LB];

  __device__ __forceinline__ TileLoader(const Prob& prob, int grp, int m0, int n0, int M, int Ncols) {
    const int tid = int(threadIdx.x);
    a_k = tid % BK;
    a_m = tid / BK;
    b_n = tid % BN;
    b_k = tid / BN;
#pragma unroll
    for (int i = 0; i < LA; ++i) {
      const int m = m0 + a_m + i * kAStep;
      a_ok[i] = m < M;
      arow[i] = prob.a_row(grp, a_ok[i] ? m : 0);
    }
    const int n = n0 + b_n;
    b_ok = n < Ncols;
    bcol = prob.b_col(grp, b_ok ? n : 0);
  }

  /// The slice starting at reduction index kt into registers (0 past k_end).
  __device__ __forceinline__ void load(const Prob& prob, int kt, int k_end) {
#pragma unroll
    for (int i = 0; i < LA; ++i) {
      const int k = kt + a_k;
      ra[i] = a_ok[i] && k < k_end ? prob.a(arow[i], k) : T(0);
    }
#pragma unroll
    for (int i = 0; i < LB; ++i) {
      const int k = kt + b_k + i * kBStep;
      rb[i] = b_ok && k < k_end ? prob.b(bcol, k) : T(0);
    }
  }
};

/// 16 bytes of T: the widest shared-memory load.
template <typename T>
struct Vec;
template <>
struct Vec<float> {
  using type = float4;
  static constexpr int kWidth = 4;
};
template <>
struct Vec<double> {
  using type = double2;
  static constexpr int kWidth = 2;
};

/// out[i] = row[micro_index(i, t, EXTENT, MICRO, width)] for a thread's
/// micro-tile along one dim: 16-byte loads when MICRO is a multiple of the
/// width (row must then be 16-byte aligned: the tiles' row lengths are
/// multiples of 4 floats / 2 doubles and the arrays __align__(16)).
template <typename T, int MICRO, int EXTENT>
__device__ __forceinline__ void load_micro(const T* row, int t, T (&out)[MICRO]) {
  constexpr int V = Vec<T>::kWidth;
  if constexpr (MICRO % V == 0) {
#pragma unroll
    for (int c = 0; c < MICRO / V; ++c) {
      const typename Vec<T>::type v =
          *reinterpret_cast<const typename Vec<T>::type*>(row + micro_index(c * V, t, EXTENT, MICRO, V));
      const T* e = reinterpret_cast<const T*>(&v);
#pragma unroll
      for (int k = 0; k < V; ++k) out[c * V + k] = e[k];
    }
  } else {
#pragma unroll
    for (int i = 0; i < MICRO; ++i) out[i] = row[micro_index(i, t, EXTENT, MICRO, V)];
  }
}

template <typename T, typename Prob, int BM, int BN, int BK, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
    fma_kernel(const Prob prob, int M, int Ncols, int Kred, int chunk, int splits) {
  constexpr int NT = (BM / TM) * (BN / TN);
  constexpr int kPad = 4;  // A's stores (16 k per warp) hit at most 2 per bank
  using Loader = TileLoader<T, Prob, BM, BN, BK, NT>;
  static_assert((BM + kPad) % Vec<T>::kWidth == 0 && (BN + kPad) % Vec<T>::kWidth == 0, "rows of 16 bytes");
  __shared__ __align__(16) T As[2][BK][BM + kPad];
  __shared__ __align__(16) T Bs[2][BK][BN + kPad];

  const Slice sl = slice_of(Kred, chunk, splits);
  const int m0 = int(blockIdx.y) * BM, n0 = int(blockIdx.x) * BN;
  Loader ld(prob, sl.grp, m0, n0, M, Ncols);
  auto stash = [&](int buf) {
#pragma unroll
    for (int i = 0; i < Loader::LA; ++i) As[buf][ld.a_k][ld.a_m + i * Loader::kAStep] = ld.ra[i];
#pragma unroll
    for (int i = 0; i < Loader::LB; ++i) Bs[buf][ld.b_k + i * Loader::kBStep][ld.b_n] = ld.rb[i];
  };

  const int tx = int(threadIdx.x) % (BN / TN), ty = int(threadIdx.x) / (BN / TN);
  T acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

  const int tiles = sl.k_end > sl.k_begin ? (sl.k_end - sl.k_begin + BK - 1) / BK : 0;
  if (tiles > 0) {
    ld.load(prob, sl.k_begin, sl.k_end);
    stash(0);
    __syncthreads();
  }
  for (int t = 0; t < tiles; ++t) {
    const int buf = t & 1;
    const bool more = t + 1 < tiles;
    if (more) ld.load(prob, sl.k_begin + (t + 1) * BK, sl.k_end);  // in flight during the math
#pragma unroll
    for (int kk = 0; kk < BK; ++kk) {
      T a[TM], b[TN];
      load_micro<T, TM, BM>(&As[buf][kk][0], ty, a);
      load_micro<T, TN, BN>(&Bs[buf][kk][0], tx, b);
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += a[i] * b[j];
    }
    // the other buffer was last read before the previous iteration's barrier
    if (more) stash(buf ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + micro_index(i, ty, BM, TM, Vec<T>::kWidth);
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int n = n0 + micro_index(j, tx, BN, TN, Vec<T>::kWidth);
      if (n < Ncols) prob.store(sl.grp, sl.split, m, n, acc[i][j]);
    }
  }
}

/// float32 -> TF32 (round to nearest, ties away; the low 13 bits zero).
__device__ __forceinline__ uint32_t to_tf32(float v) {
  uint32_t out;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(out) : "f"(v));
  return out;
}

/// c += a (16x8, row) @ b (8x8, col), TF32 inputs, float32 accumulators.
__device__ __forceinline__ void mma_tf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <typename Prob, int BM, int BN, int BK, int WM, int WN>
__global__ void __launch_bounds__(32 * (BM / WM) * (BN / WN))
    tf32_kernel(const Prob prob, int M, int Ncols, int Kred, int chunk, int splits) {
  constexpr int kWarpsM = BM / WM, NT = 32 * kWarpsM * (BN / WN);
  constexpr int MI = WM / 16, NI = WN / 8;
  constexpr int kPad = 8;  // row length = 8 (mod 32) words: fragment reads conflict-free
  static_assert(BK % 8 == 0 && WM % 16 == 0 && WN % 8 == 0 && BM % 32 == 0 && BN % 32 == 0, "tf32 tile shape");
  using Loader = TileLoader<float, Prob, BM, BN, BK, NT>;
  __shared__ uint32_t As[2][BK][BM + kPad];
  __shared__ uint32_t Bs[2][BK][BN + kPad];

  const Slice sl = slice_of(Kred, chunk, splits);
  const int m0 = int(blockIdx.y) * BM, n0 = int(blockIdx.x) * BN;
  Loader ld(prob, sl.grp, m0, n0, M, Ncols);
  auto stash = [&](int buf) {
#pragma unroll
    for (int i = 0; i < Loader::LA; ++i) As[buf][ld.a_k][ld.a_m + i * Loader::kAStep] = to_tf32(ld.ra[i]);
#pragma unroll
    for (int i = 0; i < Loader::LB; ++i) Bs[buf][ld.b_k + i * Loader::kBStep][ld.b_n] = to_tf32(ld.rb[i]);
  };

  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int wm0 = (warp % kWarpsM) * WM, wn0 = (warp / kWarpsM) * WN;
  const int gid = lane / 4, tig = lane % 4;
  float acc[MI][NI][4];
#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.f;

  const int tiles = sl.k_end > sl.k_begin ? (sl.k_end - sl.k_begin + BK - 1) / BK : 0;
  if (tiles > 0) {
    ld.load(prob, sl.k_begin, sl.k_end);
    stash(0);
    __syncthreads();
  }
  for (int t = 0; t < tiles; ++t) {
    const int buf = t & 1;
    const bool more = t + 1 < tiles;
    if (more) ld.load(prob, sl.k_begin + (t + 1) * BK, sl.k_end);
#pragma unroll
    for (int k0 = 0; k0 < BK; k0 += 8) {
      uint32_t a[MI][4], b[NI][2];
#pragma unroll
      for (int i = 0; i < MI; ++i) {
        const int r = wm0 + i * 16 + gid;
        a[i][0] = As[buf][k0 + tig][r];
        a[i][1] = As[buf][k0 + tig][r + 8];
        a[i][2] = As[buf][k0 + tig + 4][r];
        a[i][3] = As[buf][k0 + tig + 4][r + 8];
      }
#pragma unroll
      for (int j = 0; j < NI; ++j) {
        const int c = wn0 + j * 8 + gid;
        b[j][0] = Bs[buf][k0 + tig][c];
        b[j][1] = Bs[buf][k0 + tig + 4][c];
      }
#pragma unroll
      for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j) mma_tf32(acc[i][j], a[i], b[j]);
    }
    if (more) stash(buf ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < MI; ++i)
#pragma unroll
    for (int j = 0; j < NI; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int m = m0 + wm0 + i * 16 + gid + (e >= 2 ? 8 : 0);
        const int n = n0 + wn0 + j * 8 + 2 * tig + (e & 1);
        if (m < M && n < Ncols) prob.store(sl.grp, sl.split, m, n, acc[i][j][e]);
      }
}

/// out[i] = sum over s of ws[s * n + i], s in order (deterministic).
template <typename T>
__global__ void sum_splits(const T* __restrict__ ws, T* __restrict__ out, int64_t n, int splits) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    T s = ws[i];
    for (int k = 1; k < splits; ++k) s += ws[k * n + i];
    out[i] = s;
  }
}

/// GEMM sizes and split-K of one launch.
struct Launch {
  int M, Ncols, Kred, chunk, splits, groups;
};

template <typename T, typename Prob, int BM, int BN, int BK, int TM, int TN>
void launch_fma(const Prob& prob, const Launch& l, cudaStream_t stream) {
  const dim3 grid(unsigned((int64_t(l.Ncols) + BN - 1) / BN), unsigned((int64_t(l.M) + BM - 1) / BM),
                  unsigned(l.groups * l.splits));
  fma_kernel<T, Prob, BM, BN, BK, TM, TN>
      <<<grid, (BM / TM) * (BN / TN), 0, stream>>>(prob, l.M, l.Ncols, l.Kred, l.chunk, l.splits);
}

template <typename Prob, int BM, int BN, int BK, int WM, int WN>
void launch_tf32(const Prob& prob, const Launch& l, cudaStream_t stream) {
  const dim3 grid(unsigned((int64_t(l.Ncols) + BN - 1) / BN), unsigned((int64_t(l.M) + BM - 1) / BM),
                  unsigned(l.groups * l.splits));
  tf32_kernel<Prob, BM, BN, BK, WM, WN>
      <<<grid, 32 * (BM / WM) * (BN / WN), 0, stream>>>(prob, l.M, l.Ncols, l.Kred, l.chunk, l.splits);
}

/// Blocks a BM x BN tiling launches.
int64_t blocks_of(const Launch& l, int bm, int bn) {
  return ((int64_t(l.Ncols) + bn - 1) / bn) * ((int64_t(l.M) + bm - 1) / bm) * l.groups * l.splits;
}

// Blocks for about one wave of an H100 (132 SMs at one big block each): a
// tiling that gives fewer leaves SMs idle, and the next smaller tile is taken.
// A guess from the SM count, not a measurement: bench/bench_conv.cu is where
// to tune it.
constexpr int64_t kWaveBlocks = 100;

/// Picks a tile for the problem and launches it (see the top of the file).
template <typename T, typename Prob>
void run(const Prob& prob, const Launch& l, cudaStream_t stream, const char* op) {
  if (l.M == 0 || l.Ncols == 0 || l.groups == 0) return;
  if constexpr (std::is_same_v<T, float>) {
    const bool big = l.M > 64 && blocks_of(l, 128, 128) >= kWaveBlocks;
    const bool tall = l.M > 64 && blocks_of(l, 128, 64) >= kWaveBlocks;
    if (allow_tf32()) {
      if (l.M <= 32)
        launch_tf32<Prob, 32, 128, 16, 32, 32>(prob, l, stream);
      else if (big)
        launch_tf32<Prob, 128, 128, 16, 64, 32>(prob, l, stream);
      else
        launch_tf32<Prob, 64, 64, 16, 32, 32>(prob, l, stream);
    } else if (l.M <= 16) {
      launch_fma<T, Prob, 16, 256, 16, 2, 8>(prob, l, stream);
    } else if (l.M <= 32) {
      launch_fma<T, Prob, 32, 128, 16, 2, 8>(prob, l, stream);
    } else if (big) {
      launch_fma<T, Prob, 128, 128, 8, 8, 8>(prob, l, stream);
    } else if (tall) {
      launch_fma<T, Prob, 128, 64, 8, 8, 4>(prob, l, stream);
    } else {
      launch_fma<T, Prob, 64, 64, 16, 4, 4>(prob, l, stream);
    }
  } else {
    if (l.M <= 32)
      launch_fma<T, Prob, 32, 128, 16, 2, 8>(prob, l, stream);
    else
      launch_fma<T, Prob, 64, 64, 16, 4, 4>(prob, l, stream);
  }
  NOVA_CUDA_LAUNCH_CHECK(op);
}

template <typename T>
void forward_typed(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
                   const ConvEpilogue& e) {
  if (y.numel() == 0) return;
  DeviceGuard guard(y.device().index);
  ForwardProblem<T> prob{Dims(g),        x.data<T>(), w.data<T>(), bias.data_or_null<T>(), y.data<T>(),
                         e.activation, T(e.slope)};
  const Launch l{prob.rows(), prob.cols(), prob.reduction(), prob.reduction(), 1, int(g.groups)};
  run<T>(prob, l, stream_of(y), "conv2d");
}

template <typename T>
void backward_data_typed(const Conv2dGeometry& g, const View& grad_y, const View& w, const View& grad_x) {
  if (grad_x.numel() == 0) return;
  DeviceGuard guard(grad_x.device().index);
  if (g.stride_h > 1 || g.stride_w > 1) {
    // one launch per stride phase, each without the off-grid (zero) taps
    for (int64_t rho_h = 0; rho_h < g.stride_h; ++rho_h)
      for (int64_t rho_w = 0; rho_w < g.stride_w; ++rho_w) {
        BackwardDataPhaseProblem<T> prob{Dims(g), make_phase(g, rho_h, rho_w), grad_y.data<T>(), w.data<T>(),
                                         grad_x.data<T>()};
        const Launch l{prob.rows(), prob.cols(), prob.reduction(), prob.reduction(), 1, int(g.groups)};
        run<T>(prob, l, stream_of(grad_x), "conv2d_backward_data");
      }
    return;
  }
  BackwardDataProblem<T> prob{Dims(g), grad_y.data<T>(), w.data<T>(), grad_x.data<T>()};
  const Launch l{prob.rows(), prob.cols(), prob.reduction(), prob.reduction(), 1, int(g.groups)};
  run<T>(prob, l, stream_of(grad_x), "conv2d_backward_data");
}

template <typename T>
void backward_filter_typed(const Conv2dGeometry& g, const View& x, const View& grad_y, const View& grad_w,
                           const View& workspace) {
  const int64_t w_elems = grad_w.numel();
  if (w_elems == 0) return;
  DeviceGuard guard(grad_w.device().index);
  const FilterPlan plan = filter_plan(g);
  NOVA_CHECK(plan.splits == 1 || workspace.numel() >= plan.workspace,
             "conv2d_backward_filter: workspace of {} elements expected, got {}", plan.workspace,
             workspace.numel());
  T* out = plan.splits > 1 ? workspace.data<T>() : grad_w.data<T>();
  BackwardFilterProblem<T> prob{Dims(g), x.data<T>(), grad_y.data<T>(), out};
  const Launch l{prob.rows(), prob.cols(), prob.reduction(), plan.chunk, plan.splits, int(g.groups)};
  run<T>(prob, l, stream_of(grad_w), "conv2d_backward_filter");
  if (plan.splits > 1) {
    sum_splits<T><<<blocks_for(w_elems), kThreads, 0, stream_of(grad_w)>>>(out, grad_w.data<T>(), w_elems,
                                                                            plan.splits);
    NOVA_CUDA_LAUNCH_CHECK("conv2d_backward_filter");
  }
}

}  // namespace

void forward(const Conv2dGeometry& g, const View& x, const View& w, const View& bias, const View& y,
             const ConvEpilogue& epilogue) {
  dispatch_floating("conv2d", x.dtype(), [&](auto tag) {
    forward_typed<decltype(tag)>(g, x, w, bias, y, epilogue);
  });
}

void backward_data(const Conv2dGeometry& g, const View& grad_y, const View& w, const View& grad_x) {
  dispatch_floating("conv2d_backward_data", grad_y.dtype(), [&](auto tag) {
    backward_data_typed<decltype(tag)>(g, grad_y, w, grad_x);
  });
}

void backward_filter(const Conv2dGeometry& g, const View& x, const View& grad_y, const View& grad_w,
                     const View& workspace) {
  dispatch_floating("conv2d_backward_filter", x.dtype(), [&](auto tag) {
    backward_filter_typed<decltype(tag)>(g, x, grad_y, grad_w, workspace);
  });
}

}  // namespace nova::cuda::igemm
