// core/segment.cpp: checks, dispatch and autograd of the segment ops.
//
// Derivative table (segments of rows; g = incoming gradient):
//   segment_sum(x)     [N, ...] -> [K, ...]   dx = segment_repeat(g)   [K, ...] -> [N, ...]
//   segment_repeat(x)  [K, ...] -> [N, ...]   dx = segment_sum(g)      (index_select's own backward)
//   segment_outer(a, b) a [N, m], b [N, n] -> [K, m, n], y_k = a_k^T b_k:
//                      da_k = b_k g_k^T   [n_k, n] @ [n, m] -> [n_k, m]
//                      db_k = a_k g_k     [n_k, m] @ [m, n] -> [n_k, n]
//                      (one matmul per segment, joined along the rows by cat)
// segment_sum's forward is one kernel over x viewed as [N, M] (M = the
// product of the other dims); segment_repeat is index_select with the
// segment ids, whose recorded backward (index_add) is the segment sum.
#include "core/segment.h"

#include <algorithm>

#include "core/autograd.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/matmul.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/segment.h"
#include "kernels/matmul.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

std::vector<int64_t> segment_offsets(const char* op, const std::vector<int64_t>& group_sizes) {
  NOVA_CHECK(!group_sizes.empty(), "{}: expected at least one group size, got none", op);
  std::vector<int64_t> offsets(group_sizes.size() + 1, 0);
  for (size_t k = 0; k < group_sizes.size(); ++k) {
    NOVA_CHECK(group_sizes[k] >= 0, "{}: group size {} is negative ({})", op, k, group_sizes[k]);
    offsets[k + 1] = offsets[k] + group_sizes[k];
  }
  return offsets;
}

Tensor segment_ids(const std::vector<int64_t>& group_sizes, Device device) {
  std::vector<int64_t> offsets = segment_offsets("segment_ids", group_sizes);
  std::vector<int64_t> ids(offsets.back());
  for (size_t k = 0; k + 1 < offsets.size(); ++k)
    std::fill(ids.begin() + offsets[k], ids.begin() + offsets[k + 1], int64_t(k));
  Tensor t = from_vector(ids);
  return device.is_cpu() ? t : t.to(device);
}

Tensor segment_sum(const Tensor& x, const std::vector<int64_t>& group_sizes) {
  const char* op = "segment_sum";
  check_defined(op, x);
  check_floating(op, x);
  std::vector<int64_t> offsets = segment_offsets(op, group_sizes);
  NOVA_CHECK(x.dim() >= 1 && x.size(0) == offsets.back(),
             "segment_sum: group sizes add up to {} rows, but the input {} has {} rows (dim 0)",
             offsets.back(), x.shape().str(), x.dim() >= 1 ? x.size(0) : 0);
  const int64_t k_segments = static_cast<int64_t>(group_sizes.size());
  Shape out_shape = x.shape();
  out_shape[0] = k_segments;
  int64_t m = 1;  // elements per row
  for (int d = 1; d < x.dim(); ++d) m *= x.size(d);
  Tensor y = empty(out_shape, x.dtype(), x.device());
  {
    // detach(): the kernel only reads the data; a copy must not join the graph
    Tensor xc = x.detach().contiguous().view({x.size(0), m});
    Tensor yc = y.view({k_segments, m});
    trace::KernelRun kernel_run("segment_sum", {&xc}, {&yc});
    switch (x.device().type) {
      case DeviceType::CPU: cpu::segment_sum(xc, offsets, yc); break;
      case DeviceType::CUDA: cuda::segment_sum(xc, offsets, yc); break;
    }
    kernel_run.finish();
  }
  if (autograd::any_requires_grad({&x}))
    record(op, {x}, y, [group_sizes](const BackwardCtx& c) {
      return Grads{segment_repeat(c.grad, group_sizes)};  // [K, ...] -> [N, ...]
    });
  return y;
}

Tensor segment_repeat(const Tensor& x, const std::vector<int64_t>& group_sizes) {
  check_defined("segment_repeat", x);
  NOVA_CHECK(x.dim() >= 1 && x.size(0) == static_cast<int64_t>(group_sizes.size()),
             "segment_repeat: expected one row per group ({} groups), got input {}",
             group_sizes.size(), x.shape().str());
  return index_select(x, 0, segment_ids(group_sizes, x.device()));
}

Tensor segment_outer(const Tensor& a, const Tensor& b, const std::vector<int64_t>& group_sizes) {
  const char* op = "segment_outer";
  check_defined(op, a, "first input");
  check_defined(op, b, "second input");
  check_floating(op, a);
  check_same_device(op, {&a, &b});
  check_same_dtype(op, a, b);
  std::vector<int64_t> offsets = segment_offsets(op, group_sizes);
  NOVA_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(0) == b.size(0),
             "segment_outer: expected a [N, m] and b [N, n] with the same rows, got {} and {}",
             a.shape().str(), b.shape().str());
  NOVA_CHECK(a.size(0) == offsets.back(),
             "segment_outer: group sizes add up to {} rows, but the inputs have {} rows", offsets.back(),
             a.size(0));
  const int64_t k_segments = static_cast<int64_t>(group_sizes.size());
  Tensor y = empty({k_segments, a.size(1), b.size(1)}, a.dtype(), a.device());
  {
    NoGradGuard no_grad;  // the copies and views are only for the kernels
    Tensor ac = a.detach().contiguous(), bc = b.detach().contiguous();
    trace::KernelRun kernel_run("segment_outer", {&ac, &bc}, {&y}, nullptr,
                                2.0 * double(ac.numel()) * double(bc.dim() > 1 ? bc.size(1) : 1));
    switch (a.device().type) {
      case DeviceType::CPU: cpu::segment_outer(ac, bc, offsets, y); break;  // one parallel region
      case DeviceType::CUDA:
        if (std::all_of(group_sizes.begin(), group_sizes.end(), [&](int64_t g) { return g == group_sizes[0]; })) {
          // equal segments (real and fake halves): one strided-batched cuBLAS GEMM
          Tensor a3 = transpose(ac.view({k_segments, group_sizes[0], a.size(1)}), 1, 2);  // [K, m, n_k]
          cuda::matmul(a3, bc.view({k_segments, group_sizes[0], b.size(1)}), y);          // [K, m, n]
        } else {
          for (int64_t k = 0; k < k_segments; ++k) {  // one cuBLAS GEMM per segment
            Tensor ak = transpose(narrow(ac, 0, offsets[k], group_sizes[k]), 0, 1);  // [m, n_k]
            Tensor bk = narrow(bc, 0, offsets[k], group_sizes[k]);                    // [n_k, n]
            cuda::matmul(ak, bk, select(y, 0, k));                                    // [m, n], dense
          }
        }
        break;
    }
    kernel_run.finish();
  }
  if (autograd::any_requires_grad({&a, &b}))
    record(op, {a, b}, y, [a, b, group_sizes, offsets](const BackwardCtx& c) {
      std::vector<Tensor> da, db;
      for (size_t k = 0; k < group_sizes.size(); ++k) {
        Tensor gk = select(c.grad, 0, static_cast<int64_t>(k));  // [m, n]
        if (c.needs(0)) da.push_back(matmul(narrow(b, 0, offsets[k], group_sizes[k]), transpose(gk, 0, 1)));
        if (c.needs(1)) db.push_back(matmul(narrow(a, 0, offsets[k], group_sizes[k]), gk));
      }
      return Grads{c.needs(0) ? cat(da, 0) : Tensor(), c.needs(1) ? cat(db, 0) : Tensor()};
    }, NodeOptions().saves("a, b"));
  return y;
}

}  // namespace nova::ops
