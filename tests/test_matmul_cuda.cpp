// tests/test_matmul_cuda.cpp: CPU/CUDA parity of matmul (cuBLAS) and linear,
// forward and the gradients of the leaves, float32 within 1e-5 relative (TF32
// off, the default) and float64 within 1e-12: 1-D x 1-D, 1-D x 2-D, 2-D,
// batched, broadcast batch dims, transposed operands (cuBLAS op flags, no
// copy), operands with neither dim dense (copied), non-uniform batch strides
// (one GEMM per batch), k = 0 and empty results; and the TF32 switch.
#include <functional>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

Tensor same(const Tensor& x) { return x; }

/// va(a) @ vb(b) from the same random values on the CPU and on cuda:0: the
/// product and the gradients of both leaves agree.
void check(const Shape& sa, const Shape& sb, DType dtype, const Fn& va = same, const Fn& vb = same) {
  Tensor a = uniform(sa, -1.0, 1.0, dtype), b = uniform(sb, -1.0, 1.0, dtype);
  Tensor ac = a.clone().requires_grad_(), ag = a.to(gpu()).requires_grad_();
  Tensor bc = b.clone().requires_grad_(), bg = b.to(gpu()).requires_grad_();
  Tensor yc = ops::matmul(va(ac), vb(bc)), yg = ops::matmul(va(ag), vb(bg));
  require_parity(yc, yg);
  Tensor g = uniform(yc.shape(), -1.0, 1.0, dtype);
  yc.backward(g);
  yg.backward(g.to(gpu()));
  require_parity(ac.grad(), ag.grad());
  require_parity(bc.grad(), bg.grad());
}

Tensor t_last(const Tensor& x) { return x.transpose(-1, -2); }

}  // namespace

TEST_CASE("cuda matmul of 1-D, 2-D and batched operands", "[cuda][matmul]") {
  REQUIRE_FALSE(allow_tf32());
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    check({7}, {7}, dtype);               // dot product
    check({1023}, {1023}, dtype);
    check({7}, {7, 5}, dtype);            // row vector
    check({5, 7}, {7}, dtype);            // column vector
    check({3, 2, 7}, {7}, dtype);
    check({1, 1}, {1, 1}, dtype);
    check({17, 33}, {33, 9}, dtype);
    check({64, 96}, {96, 80}, dtype);
    check({1, 65}, {65, 1}, dtype);
    check({4, 6, 8}, {4, 8, 3}, dtype);   // batched
    check({2, 3, 5, 7}, {2, 3, 7, 4}, dtype);
    check({4, 6, 8}, {8, 3}, dtype);      // broadcast b (batch stride 0)
    check({6, 8}, {4, 8, 3}, dtype);      // broadcast a
    check({2, 1, 5, 7}, {1, 3, 7, 4}, dtype);  // both broadcast: non-uniform batch strides
  }
}

TEST_CASE("cuda matmul of transposed, sliced and strided operands", "[cuda][matmul]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    INFO(dtype_name(dtype));
    check({33, 17}, {33, 9}, dtype, t_last, same);   // a^T: op T
    check({17, 33}, {9, 33}, dtype, same, t_last);   // x @ w^T: op T
    check({33, 17}, {9, 33}, dtype, t_last, t_last);
    check({4, 8, 6}, {4, 3, 8}, dtype, t_last, t_last);  // batched, both transposed
    // a leading-dim slice: rows every other row (ld = 2 * cols)
    check({34, 33}, {33, 9}, dtype, [](const Tensor& x) { return x.slice(0, 0, 34, 2); }, same);
    // a column slice: row stride > cols
    check({17, 40}, {33, 9}, dtype, [](const Tensor& x) { return x.narrow(1, 3, 33); }, same);
    // neither dim dense: every other column (copied before the GEMM)
    check({17, 66}, {33, 9}, dtype, [](const Tensor& x) { return x.slice(1, 0, 66, 2); }, same);
    check({33, 9}, {18, 9}, dtype, same, [](const Tensor& x) { return x.slice(0, 0, 18, 2).t(); });
    // batch dims permuted: non-uniform batch strides, one GEMM per batch
    check({3, 2, 5, 7}, {2, 3, 7, 4}, dtype, [](const Tensor& x) { return x.transpose(0, 1); }, same);
    // a batch slice: uniform stride 2 * m * k
    check({8, 5, 7}, {4, 7, 3}, dtype, [](const Tensor& x) { return x.slice(0, 0, 8, 2); }, same);
  }
}

TEST_CASE("cuda matmul with k = 0 and empty results", "[cuda][matmul]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    check({5, 0}, {0, 4}, dtype);   // zeros
    check({3, 5, 0}, {3, 0, 4}, dtype);
    check({0}, {0}, dtype);         // empty dot product: 0
    check({0, 7}, {7, 4}, dtype);   // m = 0
    check({5, 7}, {7, 0}, dtype);   // n = 0
    check({0, 5, 7}, {7, 3}, dtype);
  }
}

TEST_CASE("cuda linear matches the CPU (forward and gradients)", "[cuda][matmul]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = uniform({4, 6, 32}, -1.0, 1.0, dtype), w = uniform({20, 32}, -1.0, 1.0, dtype),
           b = uniform({20}, -1.0, 1.0, dtype);
    Tensor xc = x.clone().requires_grad_(), wc = w.clone().requires_grad_(), bc = b.clone().requires_grad_();
    Tensor xg = x.to(gpu()).requires_grad_(), wg = w.to(gpu()).requires_grad_(), bg = b.to(gpu()).requires_grad_();
    Tensor yc = ops::linear(xc, wc, bc), yg = ops::linear(xg, wg, bg);
    require_parity(yc, yg);
    Tensor g = uniform(yc.shape(), -1.0, 1.0, dtype);
    yc.backward(g);
    yg.backward(g.to(gpu()));
    require_parity(xc.grad(), xg.grad());
    require_parity(wc.grad(), wg.grad());
    require_parity(bc.grad(), bg.grad());
  }
}

TEST_CASE("cuda matmul: the TF32 switch", "[cuda][matmul]") {
  REQUIRE_FALSE(allow_tf32());
  set_allow_tf32(true);
  REQUIRE(allow_tf32());
  Tensor a = uniform({128, 256}, -1.0, 1.0, kFloat32), b = uniform({256, 64}, -1.0, 1.0, kFloat32);
  Tensor y = ops::matmul(a.to(gpu()), b.to(gpu()));
  set_allow_tf32(false);
  // TF32 keeps 10 mantissa bits: within 1e-2 relative, not necessarily 1e-5
  require_parity(ops::matmul(a, b), y, 1e-2);
  require_parity(ops::matmul(a, b), ops::matmul(a.to(gpu()), b.to(gpu())));
}
