// tests/test_normalization_cuda.cpp: CPU/CUDA parity of layer_norm,
// batch_norm, dropout and the losses, forward and the gradients of the
// leaves, float32 within 1e-5 relative and float64 within 1e-12:
//   layer_norm  1 and 2 normalized dims, with and without affine, rows of odd
//               lengths (warp path) and of 2048 / 65537 (block path), a
//               transposed input, empty inputs;
//   batch_norm  2-D and 3-D inputs, training (running statistics compared
//               after the call), eval, no running statistics, with and
//               without affine, odd channel counts and lengths;
//   dropout     a fixed Generator seed draws the same mask on both devices;
//   losses      cross_entropy / nll_loss (ignore_index, label smoothing, each
//               reduction, 2-D and 3-D), mse, huber, bce_with_logits (with
//               pos_weight) and the hinge losses; nll_loss with a bad target
//               throws the same message on both devices.
#include <functional>
#include <string>
#include <vector>

#include "tests/cuda_util.h"

using namespace nova;
using namespace nova::test;
using ops::Reduction;

namespace {

using Inputs = std::vector<Tensor>;
using Fn = std::function<Tensor(const Inputs&)>;

/// f(inputs) on the CPU and on cuda:0: results and the gradients of every
/// floating input agree. Undefined inputs stay undefined; integer inputs
/// (labels) are moved but never require grad.
void check(const Inputs& base, const Fn& f) {
  Inputs c, g;
  for (const Tensor& t : base) {
    if (!t.defined()) {
      c.emplace_back();
      g.emplace_back();
    } else if (t.dtype() == kFloat32 || t.dtype() == kFloat64) {
      c.push_back(t.clone().requires_grad_());
      g.push_back(t.to(gpu()).requires_grad_());
    } else {
      c.push_back(t.clone());
      g.push_back(t.to(gpu()));
    }
  }
  Tensor yc = f(c), yg = f(g);
  require_parity(yc, yg);
  Tensor grad = uniform(yc.shape(), -1.0, 1.0, yc.dtype());
  yc.backward(grad);
  yg.backward(grad.to(gpu()));
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c[i].defined() || !c[i].requires_grad()) continue;
    INFO("gradient of input " << i);
    REQUIRE(c[i].grad().defined() == g[i].grad().defined());
    if (c[i].grad().defined()) require_parity(c[i].grad(), g[i].grad());
  }
}

/// Random int64 labels in [0, C); the first is -100 (the default ignore_index)
/// when ignore_first.
Tensor labels_for(const Shape& shape, int64_t C, bool ignore_first = false) {
  std::vector<int64_t> v = randint(0, C, shape).to_vector<int64_t>();
  if (ignore_first && !v.empty()) v[0] = -100;
  return from_vector<int64_t>(v, shape);
}

}  // namespace

// ---- layer_norm ----

TEST_CASE("cuda layer_norm over the last dim, odd and long rows, with and without affine",
          "[cuda][norm]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    std::vector<int64_t> lengths = odd_sizes();
    lengths.push_back(2048);
    for (int64_t cols : lengths) {
      const int64_t rows = cols > 2048 ? 3 : 9;
      for (bool affine : {false, true}) {
        INFO(rows << " rows of " << cols << ", affine " << affine << ", " << dtype_name(dtype));
        Tensor x = uniform({rows, cols}, -2.0, 3.0, dtype);
        Tensor w = affine ? uniform({cols}, 0.5, 1.5, dtype) : Tensor();
        Tensor b = affine ? uniform({cols}, -1.0, 1.0, dtype) : Tensor();
        check({x, w, b}, [cols](const Inputs& in) {
          return ops::layer_norm(in[0], Shape{cols}, in[1], in[2]);
        });
      }
    }
  }
}

TEST_CASE("cuda layer_norm over two dims, transposed inputs, empty batches", "[cuda][norm]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (bool affine : {false, true}) {
      INFO("affine " << affine << ", " << dtype_name(dtype));
      Tensor x = uniform({4, 5, 7}, -2.0, 2.0, dtype);
      Tensor w = affine ? uniform({5, 7}, 0.5, 1.5, dtype) : Tensor();
      Tensor b = affine ? uniform({5, 7}, -1.0, 1.0, dtype) : Tensor();
      check({x, w, b}, [](const Inputs& in) {
        return ops::layer_norm(in[0], Shape{5, 7}, in[1], in[2], 1e-3);
      });
      // a transposed input: core makes it contiguous before the kernel
      check({uniform({6, 7}, -2.0, 2.0, dtype), affine ? uniform({6}, 0.5, 1.5, dtype) : Tensor()},
            [](const Inputs& in) { return ops::layer_norm(in[0].t(), Shape{6}, in[1]); });
      // no rows
      check({uniform({0, 7}, -1.0, 1.0, dtype), w.defined() ? uniform({7}, 0.5, 1.5, dtype) : Tensor()},
            [](const Inputs& in) { return ops::layer_norm(in[0], Shape{7}, in[1]); });
    }
  }
}

// ---- batch_norm ----

namespace {

/// batch_norm of x [shape] on both devices (channels = shape[1]): the output,
/// the gradients of x, weight and bias, and (training with running
/// statistics) the running statistics after the call agree.
void check_batch_norm(const Shape& shape, DType dtype, bool training, bool running, bool affine) {
  const int64_t C = shape[1];
  Tensor rm = running ? uniform({C}, -0.5, 0.5, dtype) : Tensor();
  Tensor rv = running ? uniform({C}, 0.5, 2.0, dtype) : Tensor();
  Tensor rm_c = running ? rm.clone() : Tensor(), rv_c = running ? rv.clone() : Tensor();
  Tensor rm_g = running ? rm.to(gpu()) : Tensor(), rv_g = running ? rv.to(gpu()) : Tensor();
  Tensor x = uniform(shape, -1.0, 4.0, dtype);
  Tensor w = affine ? uniform({C}, 0.5, 1.5, dtype) : Tensor();
  Tensor b = affine ? uniform({C}, -1.0, 1.0, dtype) : Tensor();
  check({x, w, b}, [&](const Inputs& in) {
    const bool on_gpu = in[0].is_cuda();
    return ops::batch_norm(in[0], on_gpu ? rm_g : rm_c, on_gpu ? rv_g : rv_c, in[1], in[2],
                           training, 0.1, 1e-5);
  });
  if (running) {
    INFO("running statistics after the call");
    require_parity(rm_c, rm_g);
    require_parity(rv_c, rv_g);
  }
}

}  // namespace

TEST_CASE("cuda batch_norm in training, 2-D and 3-D, running statistics updated alike",
          "[cuda][norm]") {
  const std::vector<Shape> shapes = {{7, 3}, {16, 1023}, {7, 3, 1023}, {2, 5, 65537}, {5, 1, 7}, {3, 4, 2, 5}};
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Shape& shape : shapes) {
      for (bool running : {false, true}) {
        for (bool affine : {false, true}) {
          INFO(shape.str() << ", running " << running << ", affine " << affine << ", "
                           << dtype_name(dtype));
          check_batch_norm(shape, dtype, true, running, affine);
        }
      }
    }
  }
}

TEST_CASE("cuda batch_norm in eval, with running statistics and without", "[cuda][norm]") {
  const std::vector<Shape> shapes = {{1, 3}, {7, 3}, {7, 3, 1023}, {0, 4, 5}, {2, 5, 65537}};
  for (DType dtype : {kFloat32, kFloat64}) {
    for (const Shape& shape : shapes) {
      for (bool affine : {false, true}) {
        INFO(shape.str() << ", affine " << affine << ", " << dtype_name(dtype));
        check_batch_norm(shape, dtype, false, true, affine);
        if (shape[0] * (shape.numel() / std::max<int64_t>(1, shape[0] * shape[1])) > 1)
          check_batch_norm(shape, dtype, false, false, affine);  // batch statistics
      }
    }
  }
}

TEST_CASE("cuda batch_norm of a non-contiguous input", "[cuda][norm]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    Tensor x = uniform({9, 4, 6}, -1.0, 2.0, dtype);
    Tensor w = uniform({9}, 0.5, 1.5, dtype), b = uniform({9}, -1.0, 1.0, dtype);
    // [6, 9, 4] seen through a permutation: channels strided
    check({x, w, b}, [](const Inputs& in) {
      return ops::batch_norm(in[0].permute({2, 0, 1}), Tensor(), Tensor(), in[1], in[2], true);
    });
  }
}

// ---- dropout ----

TEST_CASE("cuda dropout with a fixed generator draws the CPU's mask", "[cuda][norm]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t n : odd_sizes()) {
      INFO(n << " elements, " << dtype_name(dtype));
      Tensor x = uniform({n}, -1.0, 1.0, dtype);
      Generator gc(1234), gg(1234);
      check({x}, [&](const Inputs& in) {
        return ops::dropout(in[0], 0.3, true, in[0].is_cuda() ? &gg : &gc);
      });
      REQUIRE(gc.offset() == gg.offset());
    }
  }
}

// ---- losses ----

TEST_CASE("cuda cross_entropy and nll_loss: reductions, ignore_index, label smoothing",
          "[cuda][norm][loss]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
      for (int64_t N : {int64_t(1), int64_t(7), int64_t(1023)}) {
        const int64_t C = 5;
        INFO("N " << N << ", reduction " << int(r) << ", " << dtype_name(dtype));
        Tensor logits = uniform({N, C}, -3.0, 3.0, dtype);
        Tensor target = labels_for({N}, C, N > 1);  // one ignored
        check({logits, target}, [r](const Inputs& in) { return ops::cross_entropy(in[0], in[1], r); });
        check({logits, target}, [r](const Inputs& in) {
          return ops::cross_entropy(in[0], in[1], r, -100, 0.1);
        });
        check({logits, target}, [r](const Inputs& in) {
          return ops::nll_loss(ops::log_softmax(in[0], 1), in[1], r);
        });
        // ignore_index a real class
        check({logits, labels_for({N}, C)}, [r](const Inputs& in) {
          return ops::cross_entropy(in[0], in[1], r, 2, 0.05);
        });
      }
      // [N, C, d] logits with [N, d] targets
      Tensor logits3 = uniform({3, 4, 7}, -3.0, 3.0, dtype);
      check({logits3, labels_for({3, 7}, 4)}, [r](const Inputs& in) {
        return ops::cross_entropy(in[0], in[1], r, 1, 0.2);
      });
    }
  }
}

TEST_CASE("cuda nll_loss with a bad target throws the CPU's message", "[cuda][norm][loss]") {
  Tensor lp = ops::log_softmax(uniform({6, 4}, -1.0, 1.0, kFloat64), 1);
  Tensor target = from_vector<int64_t>({0, -100, 3, 7, -1, 9});  // first bad: 7 at index 3
  std::string cpu_message, cuda_message;
  try {
    ops::nll_loss(lp, target);
  } catch (const Error& e) {
    cpu_message = e.what();
  }
  try {
    ops::nll_loss(lp.to(gpu()), target.to(gpu()));
  } catch (const Error& e) {
    cuda_message = e.what();
  }
  REQUIRE(!cpu_message.empty());
  REQUIRE(cpu_message.find("out of bounds") != std::string::npos);
  REQUIRE(cuda_message == cpu_message);
  // a negative label other than ignore_index, alone
  Tensor neg = from_vector<int64_t>({1, 1, 1, 1, 1, -5});
  cpu_message.clear();
  cuda_message.clear();
  try {
    ops::cross_entropy(lp, neg);
  } catch (const Error& e) {
    cpu_message = e.what();
  }
  try {
    ops::cross_entropy(lp.to(gpu()), neg.to(gpu()));
  } catch (const Error& e) {
    cuda_message = e.what();
  }
  REQUIRE(!cpu_message.empty());
  REQUIRE(cuda_message == cpu_message);
  // all ignored: Mean is NaN on both devices
  Tensor ignored = full({6}, -100.0, kInt64);
  require_parity(ops::nll_loss(lp, ignored), ops::nll_loss(lp.to(gpu()), ignored.to(gpu())));
}

TEST_CASE("cuda mse, huber, bce_with_logits and hinge losses", "[cuda][norm][loss]") {
  for (DType dtype : {kFloat32, kFloat64}) {
    for (int64_t n : odd_sizes()) {
      for (Reduction r : {Reduction::None, Reduction::Mean, Reduction::Sum}) {
        INFO(n << " elements, reduction " << int(r) << ", " << dtype_name(dtype));
        Tensor a = uniform({n}, -3.0, 3.0, dtype), b = uniform({n}, -3.0, 3.0, dtype);
        Tensor t01 = rand({n}, dtype);
        check({a, b}, [r](const Inputs& in) { return ops::mse_loss(in[0], in[1], r); });
        check({a, b}, [r](const Inputs& in) { return ops::huber_loss(in[0], in[1], r, 1.5); });
        check({a, t01}, [r](const Inputs& in) {
          return ops::binary_cross_entropy_with_logits(in[0], in[1], r);
        });
      }
    }
    // pos_weight broadcast over [N, C]; non-contiguous logits
    Tensor logits = uniform({5, 9}, -20.0, 20.0, dtype), t = rand({9, 5}, dtype);
    Tensor pw = uniform({5}, 0.5, 3.0, dtype);
    check({logits, t, pw}, [](const Inputs& in) {
      return ops::binary_cross_entropy_with_logits(in[0].t(), in[1], Reduction::Mean, in[2]);
    });
    Tensor real = uniform({7, 3}, -2.0, 2.0, dtype), fake = uniform({1023}, -2.0, 2.0, dtype);
    check({real}, [](const Inputs& in) { return ops::hinge_loss_d_real(in[0]); });
    check({fake}, [](const Inputs& in) { return ops::hinge_loss_d_fake(in[0]); });
    check({real, fake}, [](const Inputs& in) { return ops::hinge_loss_d(in[0], in[1]); });
    check({fake}, [](const Inputs& in) { return ops::hinge_loss_g(in[0]); });
  }
}
