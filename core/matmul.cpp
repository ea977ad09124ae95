// core/matmul.cpp: checks, shapes and autograd of matmul and linear.
//
// Derivative table for C = A @ B with A [.., m, k], B [.., k, n], g = dL/dC:
//   dA = g @ B^T   [.., m, n] @ [.., n, k] -> [.., m, k]
//   dB = A^T @ g   [.., k, m] @ [.., m, n] -> [.., k, n]
// Broadcast batch dims are summed back by the engine. 1-D operands are
// unsqueezed to a matrix before and squeezed after, so their gradients come
// from the view ops' backward.
// linear(x, W, b) = x W^T + b, one node, x viewed as rows [R, in] (R = the
// product of x's leading dims), g as [R, out]:
//   dx = g W        [R, out] @ [out, in] -> [R, in]   (then x's shape)
//   dW = g^T x      [out, R] @ [R, in]   -> [out, in]
//   db = sum of g over rows              -> [out]   (segment_sum with one segment)
// grad_split's grouped rule for linear (core/grad_split.h), attached where
// linear records its node: dW and db per group k of rows,
//   dW_k = g_k^T x_k  (segment_outer) -> [K, out, in],  db_k -> [K, out]
// (dx comes from the ordinary backward).
//
// Row-locality (grad_split), declared in record(): row i of x @ B depends
// only on row i of x when B is not itself computed from the batch, which "B
// has no grad_fn" guarantees (a weight B that needs a gradient gets one
// summed over all rows, which grad_split then refuses: plain matmul has no
// grouped rule). linear is row-local for inputs of >= 2 dims.
#include "core/matmul.h"

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/reduce.h"
#include "core/segment.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cuda/runtime.h"
#include "kernels/matmul.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

/// matmul of two tensors of at least 2 dims; `row_local` is what matmul()
/// declares for grad_split (see the top).
Tensor matmul_nd(const Tensor& a, const Tensor& b, bool row_local = false) {
  const int na = a.dim(), nb = b.dim();
  NOVA_CHECK(a.size(na - 1) == b.size(nb - 2), "matmul: shapes {} and {} do not fit ({} != {})",
             a.shape().str(), b.shape().str(), a.size(na - 1), b.size(nb - 2));
  Shape batch_a, batch_b;
  for (int d = 0; d < na - 2; ++d) batch_a.push_back(a.size(d));
  for (int d = 0; d < nb - 2; ++d) batch_b.push_back(b.size(d));
  Shape batch = broadcast_shapes("matmul (batch dims)", batch_a, batch_b);
  Shape sa = batch, sb = batch, so = batch;
  sa.push_back(a.size(na - 2));
  sa.push_back(a.size(na - 1));
  sb.push_back(b.size(nb - 2));
  sb.push_back(b.size(nb - 1));
  so.push_back(a.size(na - 2));
  so.push_back(b.size(nb - 1));
  Tensor y = empty(so, a.dtype(), a.device());
  {
    NoGradGuard no_grad;  // the expanded views are only for the kernel
    Tensor ea = expand(a, sa), eb = expand(b, sb);
    trace::KernelRun kernel_run("matmul", {&a, &b}, {&y}, a.is_cuda() ? "cuBLAS" : cpu::gemm_backend(),
                                2.0 * double(y.numel()) * double(a.size(-1)));
    switch (a.device().type) {
      case DeviceType::CPU: cpu::matmul(ea, eb, y); break;
      case DeviceType::CUDA:  // cuBLAS needs a unit stride in each matrix
        cuda::matmul(cuda::matmul_reads_in_place(ea) ? ea : ea.contiguous(),
                     cuda::matmul_reads_in_place(eb) ? eb : eb.contiguous(), y);
        break;
    }
    kernel_run.finish();
  }
  if (autograd::any_requires_grad({&a, &b}))
    record("matmul", {a, b}, y, [a, b](const BackwardCtx& c) {
      return Grads{c.needs(0) ? matmul_nd(c.grad, transpose(b, -1, -2)) : Tensor(),
                   c.needs(1) ? matmul_nd(transpose(a, -1, -2), c.grad) : Tensor()};
    }, NodeOptions().row_local(row_local).saves("a, b"));
  return y;
}

/// x [..., f] as the 2-D [rows, f] (no copy for a 2-D x, whatever its strides).
Tensor as_rows(const Tensor& x, int64_t rows) {
  return x.dim() == 2 ? x : reshape(x, {rows, x.size(-1)});
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_defined("matmul", a, "first input");
  check_defined("matmul", b, "second input");
  check_same_device("matmul", {&a, &b});
  check_same_dtype("matmul", a, b);
  check_floating("matmul", a);
  NOVA_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both inputs need at least 1 dim, got {} and {}",
             a.shape().str(), b.shape().str());
  // checked before 1-D operands are unsqueezed, so the message names the caller's shapes
  const int64_t k_b = b.dim() == 1 ? b.size(0) : b.size(-2);
  NOVA_CHECK(a.size(-1) == k_b, "matmul: shapes {} and {} do not fit ({} != {})", a.shape().str(),
             b.shape().str(), a.size(-1), k_b);
  // 1-D operands become a row (left) or a column (right); that dim is dropped after.
  Tensor a2 = a.dim() == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = b.dim() == 1 ? unsqueeze(b, 1) : b;
  Tensor y = matmul_nd(a2, b2, a.dim() >= 2 && !b.grad_fn());
  if (b.dim() == 1) y = squeeze(y, -1);
  if (a.dim() == 1) y = squeeze(y, a.dim() == 1 && b.dim() == 1 ? -1 : -2);
  return y;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_defined("linear", x);
  check_defined("linear", weight, "weight");
  NOVA_CHECK(weight.dim() == 2, "linear: weight must be 2-D [out, in], got {}", weight.shape().str());
  NOVA_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1),
             "linear: input {} does not end in in_features {} (weight {})", x.shape().str(),
             weight.size(1), weight.shape().str());
  if (bias.defined())
    NOVA_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0),
               "linear: bias must be [{}], got {}", weight.size(0), bias.shape().str());
  // fold leading dims into rows: one GEMM instead of one per batch entry
  const int64_t out = weight.size(0);
  int64_t rows = 1;
  for (int d = 0; d + 1 < x.dim(); ++d) rows *= x.size(d);
  Shape out_shape = x.shape();
  out_shape[out_shape.size() - 1] = out;
  Tensor y;
  trace::KernelRun kernel_run("linear", {&x, &weight, &bias}, {}, "matmul + bias");  // around both
  {
    NoGradGuard no_grad;  // one node for the whole layer, recorded below
    Tensor y2 = matmul(as_rows(x, rows), transpose(weight, 0, 1));
    if (bias.defined()) y2.add_(bias);  // in place: y2 is the product's fresh output
    y = reshape(y2, out_shape);
  }
  kernel_run.output(y);
  kernel_run.finish();
  if (autograd::any_requires_grad({&x, &weight, &bias})) {
    const int64_t batch = x.dim() >= 2 ? x.size(0) : 1;
    auto backward = [x, weight, rows](const BackwardCtx& c) {
      Tensor g2 = as_rows(c.grad, rows);
      Grads grads(3);
      if (c.needs(0)) {
        Tensor dx = matmul(g2, weight);
        grads[0] = x.dim() == 2 ? dx : reshape(dx, x.shape());
      }
      if (c.needs(1)) grads[1] = matmul(transpose(g2, 0, 1), as_rows(x, rows));
      // one segment = a plain column sum; segment_sum's row-major loop is
      // about 10x faster than sum over dim 0 on [1536, 128] (2 threads)
      if (c.needs(2)) grads[2] = reshape(segment_sum(g2, {rows}), {g2.size(1)});
      return grads;
    };
    // grad_split's grouped rule (see the top): a group of n batch entries is
    // n * rows / batch of the rows x is viewed as
    auto grouped = [x, rows, batch](const BackwardCtx& c, const std::vector<int64_t>& groups) {
      std::vector<int64_t> row_groups = groups;
      for (int64_t& n : row_groups) n *= batch > 0 ? rows / batch : 0;
      Tensor g2 = as_rows(c.grad, rows);
      Grads grads(3);
      if (c.needs(1)) grads[1] = segment_outer(g2, as_rows(x, rows), row_groups);  // [K, out, in]
      if (c.needs(2)) grads[2] = segment_sum(g2, row_groups);                      // [K, out]
      return grads;
    };
    record("linear", {x, weight, bias}, y, std::move(backward),
           NodeOptions().row_local(x.dim() >= 2).grouped({1, 2}, std::move(grouped)).saves("x, weight"));
  }
  return y;
}

}  // namespace nova::ops

namespace nova {

void set_allow_tf32(bool allow) { cuda::set_allow_tf32(allow); }
bool allow_tf32() { return cuda::allow_tf32(); }

}  // namespace nova
