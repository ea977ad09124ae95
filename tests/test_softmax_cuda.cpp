// tests/test_softmax_cuda.cpp: CPU/CUDA parity of softmax and log_softmax,
// forward and the gradients of the leaves, float32 within 1e-5 relative and
// float64 within 1e-12: along each dim of a 3-D tensor (contiguous,
// transposed, sliced), rows of 4096 (the block path) and of odd lengths,
// many short rows, empty tensors, a 0-d tensor, and rows with -inf entries.
#include <functional>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;

namespace {

using Fn = std::function<Tensor(const Tensor&)>;

Tensor same(const Tensor& x) { return x; }

/// f(view(x)) from the same random values on the CPU and on cuda:0: results
/// and the gradients of the leaves after backward agree.
void check(const Shape& shape, DType dtype, const Fn& view, const Fn& f, double lo = -3.0, double hi = 3.0) {
  Tensor base = uniform(shape, lo, hi, dtype);
  Tensor xc = base.clone().requires_grad_(), xg = base.to(gpu()).requires_grad_();
  Tensor yc = f(view(xc)), yg = f(view(xg));
  require_parity(yc, yg);
  Tensor g = uniform(yc.shape(), -1.0, 1.0, dtype);
  yc.backward(g);
  yg.backward(g.to(gpu()));
  require_parity(xc.grad(), xg.grad());
}

}  // namespace

TEST_CASE("cuda softmax and log_softmax along each dim of a 3-D tensor, any layout", "[cuda][softmax]") {
  const std::vector<std::pair<std::string, Fn>> views = {
      {"contiguous", same},
      {"transposed", [](const Tensor& x) { return x.transpose(0, 2); }},
      {"permuted", [](const Tensor& x) { return x.permute({1, 2, 0}); }},
      {"sliced", [](const Tensor& x) { return x.slice(1, 1, 14, 2).narrow(2, 2, 6); }},
  };
  for (DType dtype : {kFloat32, kFloat64}) {
    for (auto& [vname, view] : views) {
      for (int64_t dim : {0, 1, 2, -1}) {
        INFO(vname << " along " << dim << ", " << dtype_name(dtype));
        check({5, 14, 9}, dtype, view, [=](const Tensor& x) { return ops::softmax(x, dim); });
        check({5, 14, 9}, dtype, view, [=](const Tensor& x) { return ops::log_softmax(x, dim); });
      }
    }
  }
}

TEST_CASE("cuda softmax over rows of 4096 and of odd lengths", "[cuda][softmax]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t n : odd_sizes()) {
      INFO("rows of " << n << ", " << dtype_name(dtype));
      check({3, n}, dtype, same, [](const Tensor& x) { return ops::softmax(x, 1); });
      check({3, n}, dtype, same, [](const Tensor& x) { return ops::log_softmax(x, -1); });
      // along dim 0 of [n, 3]: rows strided by 3 on the input, by 3 on the output
      check({n, 3}, dtype, same, [](const Tensor& x) { return ops::softmax(x, 0); });
    }
    INFO("rows of 4096, " << dtype_name(dtype));
    check({64, 4096}, dtype, same, [](const Tensor& x) { return ops::softmax(x, 1); }, -10.0, 10.0);
    check({64, 4096}, dtype, same, [](const Tensor& x) { return ops::log_softmax(x, 1); }, -10.0, 10.0);
    // non-contiguous rows of 4096: the transpose of [4096, 64], along dim 1
    check({4096, 64}, dtype, [](const Tensor& x) { return x.t(); },
          [](const Tensor& x) { return ops::softmax(x, 1); });
    check({4096, 64}, dtype, [](const Tensor& x) { return x.t(); },
          [](const Tensor& x) { return ops::log_softmax(x, 1); });
    // dense rows at the edges of the register-cached path (1025..8192) and
    // just past it
    for (int64_t n : {1025, 7777, 8192, 8193}) {
      INFO("dense rows of " << n << ", " << dtype_name(dtype));
      check({5, n}, dtype, same, [](const Tensor& x) { return ops::softmax(x, 1); }, -10.0, 10.0);
      check({5, n}, dtype, same, [](const Tensor& x) { return ops::log_softmax(x, 1); }, -10.0, 10.0);
    }
    // many short rows (warp path) and a 0-d tensor
    check({4099, 10}, dtype, same, [](const Tensor& x) { return ops::log_softmax(x, 1); });
    check({}, dtype, same, [](const Tensor& x) { return ops::softmax(x, 0); });
  }
}

TEST_CASE("cuda softmax of rows with -inf entries and large values", "[cuda][softmax]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = from_vector({-INFINITY, 0.0, 1.0, 1000.0, 1000.0, -INFINITY, -INFINITY, 2.0, 3.0}, {3, 3}, dtype);
    Tensor xg = x.to(gpu());
    require_parity(ops::softmax(x, 1), ops::softmax(xg, 1));
    require_parity(ops::log_softmax(x, 1), ops::log_softmax(xg, 1));
    require_parity(ops::softmax(x, 0), ops::softmax(xg, 0));
    // the same on long dense rows (register-cached path): -inf entries, one
    // row all -inf (NaN on both devices), large values
    Tensor big = uniform({3, 2000}, -5.0, 5.0, dtype);
    big.narrow(1, 0, 700).narrow(0, 0, 1).fill_(-INFINITY);
    big.narrow(0, 1, 1).fill_(-INFINITY);
    big.narrow(1, 100, 3).narrow(0, 2, 1).fill_(1000.0);
    require_parity(ops::softmax(big, 1), ops::softmax(big.to(gpu()), 1));
    require_parity(ops::log_softmax(big, 1), ops::log_softmax(big.to(gpu()), 1));
  }
}
