// tests/test_linalg_cuda.cpp: CPU/CUDA parity of inverse and solve (cuSOLVER
// getrf/getrs against Eigen's PartialPivLU), forward and the gradients of the
// leaves: n = 1, 7, 64, batched, broadcast batch dims, transposed and
// expanded inputs, vector and matrix right-hand sides, empty tensors; the
// singular-matrix error on CUDA; and eigh (cuSOLVER syevd against Eigen's
// SelfAdjointEigenSolver): the same eigenvalues, and eigenvectors that agree
// up to sign (compared as V diag(w) V^T and as |V|, the eigenvalues being
// distinct for random matrices).
//
// Bounds: float64 within 1e-10 relative and float32 within 1e-4, looser than
// the elementwise 1e-12 / 1e-5 because LU is not elementwise: cuSOLVER and
// Eigen may pick different pivots and sum in different orders, and the
// rounding error of an n x n solve grows with n and the condition number.
// The matrices are random + n I, so far from singular (condition number a
// few units).
#include <functional>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

Tensor same(const Tensor& x) { return x; }
Tensor t_last(const Tensor& x) { return x.transpose(-1, -2); }

double linalg_tolerance(DType dtype) { return dtype == kFloat64 ? 1e-10 : 1e-4; }

/// Random [..., n, n] matrices dominated by n I.
Tensor well_conditioned(const Shape& shape, DType dtype) {
  const int64_t n = shape[shape.size() - 1];
  return (uniform(shape, -1.0, 1.0, kFloat64) + eye(n, n, kFloat64) * double(n)).to(dtype);
}

/// inverse(v(a)) on the CPU and on cuda:0 from the same well-conditioned a:
/// the result and the gradient of a agree.
void check_inverse(const Shape& sa, DType dtype, const Fn& v = same) {
  const double tol = linalg_tolerance(dtype);
  Tensor a = well_conditioned(sa, dtype);
  Tensor ac = a.clone().requires_grad_(), ag = a.to(gpu()).requires_grad_();
  Tensor yc = ops::inverse(v(ac)), yg = ops::inverse(v(ag));
  require_parity(yc, yg, tol);
  if (yc.numel() == 0) return;
  Tensor g = uniform(yc.shape(), -1.0, 1.0, dtype);
  yc.backward(g);
  yg.backward(g.to(gpu()));
  require_parity(ac.grad(), ag.grad(), tol);
}

/// solve(va(a), vb(b)) on both devices: the result and both leaves' gradients.
void check_solve(const Shape& sa, const Shape& sb, DType dtype, const Fn& va = same, const Fn& vb = same) {
  const double tol = linalg_tolerance(dtype);
  Tensor a = well_conditioned(sa, dtype), b = uniform(sb, -1.0, 1.0, dtype);
  Tensor ac = a.clone().requires_grad_(), ag = a.to(gpu()).requires_grad_();
  Tensor bc = b.clone().requires_grad_(), bg = b.to(gpu()).requires_grad_();
  Tensor xc = ops::solve(va(ac), vb(bc)), xg = ops::solve(va(ag), vb(bg));
  require_parity(xc, xg, tol);
  if (xc.numel() == 0) return;
  Tensor g = uniform(xc.shape(), -1.0, 1.0, dtype);
  xc.backward(g);
  xg.backward(g.to(gpu()));
  require_parity(ac.grad(), ag.grad(), tol);
  require_parity(bc.grad(), bg.grad(), tol);
}

Tensor identity(int64_t n) { return eye(n, n, kFloat64); }

}  // namespace

TEST_CASE("cuda inverse of single and batched matrices", "[cuda][linalg]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    for (int64_t n : {1, 7, 64}) {
      INFO("n = " << n);
      check_inverse({n, n}, dtype);
      check_inverse({3, n, n}, dtype);
    }
    check_inverse({2, 3, 5, 5}, dtype);
    check_inverse({300, 300}, dtype);  // above the host rcond estimate's limit
  }
}

TEST_CASE("cuda inverse of transposed, expanded and empty inputs", "[cuda][linalg]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    check_inverse({7, 7}, dtype, t_last);
    check_inverse({4, 6, 6}, dtype, t_last);
    // a batch of one matrix expanded (batch stride 0): its gradient sums back
    check_inverse({1, 5, 5}, dtype, [](const Tensor& x) { return x.expand({4, 5, 5}); });
    // every other matrix of a batch: batch stride 2 n n
    check_inverse({6, 5, 5}, dtype, [](const Tensor& x) { return x.slice(0, 0, 6, 2); });
    check_inverse({0, 4, 4}, dtype);
    check_inverse({0, 0}, dtype);
  }
}

TEST_CASE("cuda solve with matrix right-hand sides", "[cuda][linalg]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    for (int64_t n : {1, 7, 64}) {
      INFO("n = " << n);
      check_solve({n, n}, {n, 1}, dtype);
      check_solve({n, n}, {n, 3}, dtype);
      check_solve({2, n, n}, {2, n, 5}, dtype);
    }
    check_solve({300, 300}, {300, 4}, dtype);
  }
}

TEST_CASE("cuda solve with vector right-hand sides", "[cuda][linalg]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    for (int64_t n : {1, 7, 64}) {
      INFO("n = " << n);
      check_solve({n, n}, {n}, dtype);
      check_solve({3, n, n}, {3, n}, dtype);  // [.., n] with a's batch dims: a vector
    }
    check_solve({3, 7, 7}, {7}, dtype);  // one vector for the whole batch
  }
}

TEST_CASE("cuda solve broadcasts batch dims and reads strided operands", "[cuda][linalg]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    check_solve({2, 1, 5, 5}, {4, 5, 2}, dtype);  // both broadcast
    check_solve({5, 5}, {3, 5, 2}, dtype);        // one a for every b
    check_solve({3, 5, 5}, {5, 2}, dtype);        // one b for every a
    check_solve({7, 7}, {7, 3}, dtype, t_last, same);  // a^T
    check_solve({7, 7}, {3, 7}, dtype, same, t_last);  // b^T
    check_solve({2, 6, 6}, {2, 4, 6}, dtype, t_last, t_last);
    check_solve({7, 7}, {7, 6}, dtype, same, [](const Tensor& x) { return x.slice(1, 0, 6, 2); });
    check_solve({7, 7}, {7, 0}, dtype);  // k = 0: empty result
    check_solve({0, 7, 7}, {0, 7, 2}, dtype);
  }
}

TEST_CASE("cuda inverse and solve of a singular matrix throw, naming its index", "[cuda][linalg]") {
  Tensor singular = from_vector<double>({1, 2, 2, 4}, {2, 2}).to(gpu());  // rank 1: zero pivot
  REQUIRE_THROWS_NOVA(ops::inverse(singular), "inverse: matrix 0 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::inverse(zeros({3, 3}, kFloat64, gpu())),
                      "inverse: matrix 0 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::inverse(zeros({3, 3}, kFloat32, gpu())),
                      "inverse: matrix 0 of the batch is singular");
  // the second matrix of a batch
  Tensor batch = zeros({3, 2, 2}, kFloat64);
  batch.select(0, 0).copy_(identity(2));
  batch.select(0, 1).copy_(singular.to(kCPU));
  batch.select(0, 2).copy_(identity(2));
  batch = batch.to(gpu());
  REQUIRE_THROWS_NOVA(ops::inverse(batch), "inverse: matrix 1 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::solve(batch, ones({3, 2, 1}, kFloat64, gpu())),
                      "solve: matrix 1 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::solve(batch, ones({3, 2}, kFloat64, gpu())),
                      "solve: matrix 1 of the batch is singular");
  // singular in exact arithmetic, a tiny nonzero pivot in floating point:
  // caught by the host rcond estimate (n <= 256), as on the CPU
  Tensor numerically = from_vector<double>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  REQUIRE_THROWS_NOVA(ops::inverse(numerically.to(gpu())), "inverse: matrix 0 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::inverse(numerically.to(kFloat32).to(gpu())),
                      "inverse: matrix 0 of the batch is singular");
  REQUIRE_THROWS_NOVA(ops::solve(numerically.to(gpu()), ones({3}, kFloat64, gpu())),
                      "solve: matrix 0 of the batch is singular");
  // above n = 256 the GPU detects only exact zero pivots: a zero matrix has them
  REQUIRE_THROWS_NOVA(ops::inverse(zeros({300, 300}, kFloat64, gpu())),
                      "inverse: matrix 0 of the batch is singular");
  // merely ill-conditioned matrices still invert
  Tensor hilbert = empty({4, 4}, kFloat64);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) hilbert.select(0, i).select(0, j).fill_(1.0 / (i + j + 1));
  Tensor hg = hilbert.to(gpu());
  REQUIRE(max_abs_diff(ops::matmul(hg, ops::inverse(hg)).to(kCPU), identity(4)) < 1e-9);
}

TEST_CASE("cuda eigh matches the CPU up to eigenvector signs", "[cuda][linalg][eigh]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    const double tol = linalg_tolerance(dtype);
    for (const Shape& shape : {Shape{1, 1}, Shape{7, 7}, Shape{3, 33, 33}, Shape{0, 4, 4}}) {
      INFO("shape " << shape.str());
      Tensor b = uniform(shape, -1.0, 1.0, kFloat64);
      Tensor a = ((b + b.transpose(-1, -2)) * 0.5).to(dtype);
      auto rc = ops::eigh(a), rg = ops::eigh(a.to(gpu()));
      require_parity(rc.values, rg.values, tol);
      require_parity(ops::abs(rc.vectors), ops::abs(rg.vectors), 10 * tol);
      Tensor back = ops::matmul(rg.vectors * rg.values.unsqueeze(-2), rg.vectors.transpose(-1, -2));
      require_parity(a, back, 10 * tol);
      // the lower triangle only: a transposed view reads a's upper one, equal here
      require_parity(rc.values, ops::eigh(a.to(gpu()).transpose(-1, -2)).values, tol);
    }
  }
}
