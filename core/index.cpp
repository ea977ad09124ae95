// core/index.cpp: checks, dispatch and autograd for the shape/index family
// (see index.h).
//
// Derivative table (g = incoming gradient, shaped like the output):
//   cat(x_0..x_n, d)            x_i: narrow(g, d, offset_i, x_i.size(d))
//   stack, split, chunk         composed of unsqueeze + cat / narrow views
//   index_select(x, d, idx)     x: index_add(zeros(x.shape), d, idx, g)
//                               [g has x's shape with idx.numel() at d]
//   index_add(b, d, idx, src)   b: g;  src: index_select(g, d, idx)
//   gather(x, d, idx)           x: scatter_add(zeros(x.shape), d, idx, g)
//                               [g has idx's shape]
//   scatter_add(b, d, idx, src) b: g;  src: gather(g, d, idx), zero-padded
//                               from idx's shape up to src's shape
//   embedding(w, idx)           w: index_add(zeros(w.shape), 0, flat idx,
//                               g [N, dim] * (idx != padding_idx))
//   pad(x, pads)                x: pad(g, -pads): crops the padding off g and
//                               puts zeros back where x was cropped
//   flip(x, dims)               x: flip(g, dims)
// Each formula is made of ops of this family (or views), and the pairs
// (index_select, index_add), (gather, scatter_add), (pad, pad), (flip, flip)
// are each other's backward, so all of them differentiate again.
//
// Row-locality (grad_split's fused path, core/grad_split.h): cat and
// index_select along a dim other than 0, pad and flip that leave dim 0 alone,
// and embedding (row r of the output is the lookups of indices row r) keep
// each row's own values; embedding also has a grouped rule for its weight,
// the same index_add over each group's lookups.
#include "core/index.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/trace.h"
#include "core/views.h"
#include "kernels/index.h"

namespace nova::ops {

using autograd::BackwardCtx;
using autograd::Grads;
using autograd::NodeOptions;
using autograd::record;

namespace {

// The engine's nodes hold at most 64 inputs (core/autograd.cpp); longer cat
// lists that need gradients are joined in groups.
constexpr size_t kMaxNodeInputs = 64;

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!autograd::is_grad_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void check_index_dtype(const char* op, const Tensor& index, const char* what = "index") {
  check_defined(op, index, what);
  NOVA_CHECK(index.dtype() == kInt64 || index.dtype() == kInt32,
             "{}: {} must be int64 or int32, got {} {}", op, what, dtype_name(index.dtype()),
             index.shape().str());
}

/// Smallest and largest index (index.numel() > 0).
std::pair<int64_t, int64_t> index_bounds(const Tensor& index) {
  switch (index.device().type) {
    case DeviceType::CPU: return cpu::index_min_max(index);
    case DeviceType::CUDA: return cuda::index_min_max(index);
  }
  return {0, 0};
}

/// Throws "op: index 7 out of range for dim 1 (size 5)" unless every index
/// is in [0, size); `what` names the indexed range ("dim 1").
void check_index_range(const char* op, const Tensor& index, int64_t size, const std::string& what) {
  if (index.numel() == 0) return;
  auto [lo, hi] = index_bounds(index);
  NOVA_CHECK(lo >= 0 && hi < size, "{}: index {} out of range for {} (size {})", op,
             lo < 0 ? lo : hi, what, size);
}

std::string dim_name(int d) { return fmt::format("dim {}", d); }

std::string list_str(const std::vector<int64_t>& v) { return fmt::format("[{}]", fmt::join(v, ", ")); }

/// x with its entries at positions index along dim: the one kernel call that
/// index_select and embedding share.
void index_select_kernel(const Tensor& x, int d, const Tensor& index, const Tensor& out) {
  trace::KernelRun kernel_run("index_select", {&x, &index}, {&out});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::index_select(x, d, index, out); break;
    case DeviceType::CUDA: cuda::index_select(x, d, index, out); break;
  }
  kernel_run.finish();
}

}  // namespace

// ---- cat, stack, split, chunk ----

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  NOVA_CHECK(!tensors.empty(), "cat: expected at least one tensor, got an empty list");
  for (const Tensor& t : tensors) check_defined("cat", t);
  const Tensor& first = tensors[0];
  NOVA_CHECK(first.dim() > 0, "cat: cannot concatenate 0-d tensors (input 0 has shape [])");
  const int d = normalize_dim("cat", dim, first.dim());
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    check_same_device("cat", {&first, &t});
    check_same_dtype("cat", first, t);
    bool fits = t.dim() == first.dim();
    for (int k = 0; fits && k < first.dim(); ++k) fits = k == d || t.size(k) == first.size(k);
    NOVA_CHECK(fits, "cat: input {} has shape {} but input 0 has shape {}; sizes must match except in dim {}",
               i, t.shape().str(), first.shape().str(), d);
    shape[d] += t.size(d);
  }
  if (tensors.size() > kMaxNodeInputs && any_requires_grad(tensors)) {
    std::vector<Tensor> groups;
    for (size_t s = 0; s < tensors.size(); s += kMaxNodeInputs) {
      const size_t e = std::min(s + kMaxNodeInputs, tensors.size());
      groups.push_back(cat(std::vector<Tensor>(tensors.begin() + s, tensors.begin() + e), d));
    }
    return cat(groups, d);
  }
  Tensor out = empty(shape, first.dtype(), first.device());
  trace::KernelRun kernel_run("cat", tensors, {&out});
  switch (first.device().type) {
    case DeviceType::CPU: cpu::cat(views_of(tensors), d, out); break;
    case DeviceType::CUDA: cuda::cat(views_of(tensors), d, out); break;
  }
  kernel_run.finish();
  if (any_requires_grad(tensors)) {
    std::vector<int64_t> sizes;
    for (const Tensor& t : tensors) sizes.push_back(t.size(d));
    record("cat", tensors, out, [d, sizes](const BackwardCtx& c) {
      Grads grads(sizes.size());
      int64_t start = 0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        if (c.needs(static_cast<int>(i))) grads[i] = narrow(c.grad, d, start, sizes[i]);
        start += sizes[i];
      }
      return grads;
    }, NodeOptions().row_local(d != 0));  // joining along a feature dim keeps each row's own
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  NOVA_CHECK(!tensors.empty(), "stack: expected at least one tensor, got an empty list");
  for (const Tensor& t : tensors) check_defined("stack", t);
  const Shape& shape = tensors[0].shape();
  for (size_t i = 1; i < tensors.size(); ++i)
    NOVA_CHECK(tensors[i].shape() == shape,
               "stack: input {} has shape {} but input 0 has shape {}; all shapes must match", i,
               tensors[i].shape().str(), shape.str());
  const int d = normalize_dim("stack", dim, tensors[0].dim() + 1);
  std::vector<Tensor> parts;
  parts.reserve(tensors.size());
  for (const Tensor& t : tensors) parts.push_back(unsqueeze(t, d));
  return cat(parts, d);
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  check_defined("split", x);
  NOVA_CHECK(x.dim() > 0, "split: cannot split a 0-d tensor");
  const int d = normalize_dim("split", dim, x.dim());
  const int64_t n = x.size(d);
  NOVA_CHECK(split_size > 0 || (split_size == 0 && n == 0),
             "split: split_size must be positive, got {} (dim {} of {} has size {})", split_size, d,
             x.shape().str(), n);
  if (n == 0) return {narrow(x, d, 0, 0)};
  std::vector<Tensor> pieces;
  for (int64_t start = 0; start < n; start += split_size)
    pieces.push_back(narrow(x, d, start, std::min(split_size, n - start)));
  return pieces;
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  check_defined("split", x);
  NOVA_CHECK(x.dim() > 0, "split: cannot split a 0-d tensor");
  const int d = normalize_dim("split", dim, x.dim());
  int64_t total = 0;
  for (int64_t s : sizes) {
    NOVA_CHECK(s >= 0, "split: sizes must be non-negative, got {}", list_str(sizes));
    total += s;
  }
  NOVA_CHECK(total == x.size(d), "split: sizes {} sum to {} but dim {} of {} has size {}",
             list_str(sizes), total, d, x.shape().str(), x.size(d));
  std::vector<Tensor> pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(narrow(x, d, start, s));
    start += s;
  }
  return pieces;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  check_defined("chunk", x);
  NOVA_CHECK(chunks > 0, "chunk: chunks must be positive, got {}", chunks);
  NOVA_CHECK(x.dim() > 0, "chunk: cannot chunk a 0-d tensor");
  const int d = normalize_dim("chunk", dim, x.dim());
  const int64_t n = x.size(d);
  return split(x, (n + chunks - 1) / chunks, d);
}

// ---- index_select / index_add ----

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined("index_select", x);
  check_index_dtype("index_select", index);
  check_same_device("index_select", {&x, &index});
  NOVA_CHECK(x.dim() > 0, "index_select: cannot index a 0-d tensor");
  NOVA_CHECK(index.dim() <= 1, "index_select: index must be 1-D, got shape {}", index.shape().str());
  const int d = normalize_dim("index_select", dim, x.dim());
  check_index_range("index_select", index, x.size(d), dim_name(d));
  Shape shape = x.shape();
  shape[d] = index.numel();
  Tensor out = empty(shape, x.dtype(), x.device());
  index_select_kernel(x, d, index, out);
  if (autograd::any_requires_grad({&x}))
    record("index_select", {x}, out, [d, index, shape = x.shape()](const BackwardCtx& c) {
      // every picked row sends its gradient back to where it came from
      return Grads{index_add(zeros(shape, c.grad.dtype(), c.grad.device()), d, index, c.grad)};
    }, NodeOptions().row_local(d != 0).saves("index"));  // picking features within each row
  return out;
}

Tensor index_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src) {
  check_defined("index_add", base, "base");
  check_defined("index_add", src, "src");
  check_index_dtype("index_add", index);
  check_same_device("index_add", {&base, &index, &src});
  check_same_dtype("index_add", base, src);
  NOVA_CHECK(base.dim() > 0, "index_add: cannot index a 0-d tensor");
  NOVA_CHECK(index.dim() <= 1, "index_add: index must be 1-D, got shape {}", index.shape().str());
  const int d = normalize_dim("index_add", dim, base.dim());
  Shape expected = base.shape();
  expected[d] = index.numel();
  NOVA_CHECK(src.shape() == expected,
             "index_add: src must have shape {} (base {} with {} indices at dim {}), got {}",
             expected.str(), base.shape().str(), index.numel(), d, src.shape().str());
  check_index_range("index_add", index, base.size(d), dim_name(d));
  Tensor out = empty(base.shape(), base.dtype(), base.device());
  trace::KernelRun kernel_run("index_add", {&base, &index, &src}, {&out});
  switch (base.device().type) {
    case DeviceType::CPU: cpu::index_add(base, d, index, src, out); break;
    case DeviceType::CUDA: cuda::index_add(base, d, index, src, out); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&base, &src}))
    record("index_add", {base, src}, out, [d, index](const BackwardCtx& c) {
      return Grads{c.needs(0) ? c.grad : Tensor(),
                   c.needs(1) ? index_select(c.grad, d, index) : Tensor()};
    }, NodeOptions().saves("index"));
  return out;
}

// ---- gather / scatter_add ----

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  check_defined("gather", x);
  check_index_dtype("gather", index);
  check_same_device("gather", {&x, &index});
  NOVA_CHECK(x.dim() > 0, "gather: cannot index a 0-d tensor");
  NOVA_CHECK(index.dim() == x.dim(), "gather: index must have as many dims as x; x {} and index {}",
             x.shape().str(), index.shape().str());
  const int d = normalize_dim("gather", dim, x.dim());
  for (int k = 0; k < x.dim(); ++k)
    NOVA_CHECK(k == d || index.size(k) <= x.size(k),
               "gather: index {} is larger than x {} at dim {} (only dim {} may be larger)",
               index.shape().str(), x.shape().str(), k, d);
  check_index_range("gather", index, x.size(d), dim_name(d));
  Tensor out = empty(index.shape(), x.dtype(), x.device());
  trace::KernelRun kernel_run("gather", {&x, &index}, {&out});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::gather(x, d, index, out); break;
    case DeviceType::CUDA: cuda::gather(x, d, index, out); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x}))
    record("gather", {x}, out, [d, index, shape = x.shape()](const BackwardCtx& c) {
      // g [index.shape] flows back to the positions it was read from
      return Grads{scatter_add(zeros(shape, c.grad.dtype(), c.grad.device()), d, index, c.grad)};
    }, NodeOptions().saves("index"));
  return out;
}

Tensor scatter_add(const Tensor& base, int64_t dim, const Tensor& index, const Tensor& src) {
  check_defined("scatter_add", base, "base");
  check_defined("scatter_add", src, "src");
  check_index_dtype("scatter_add", index);
  check_same_device("scatter_add", {&base, &index, &src});
  check_same_dtype("scatter_add", base, src);
  NOVA_CHECK(base.dim() > 0, "scatter_add: cannot index a 0-d tensor");
  NOVA_CHECK(index.dim() == base.dim() && src.dim() == base.dim(),
             "scatter_add: base {}, index {} and src {} must have the same number of dims",
             base.shape().str(), index.shape().str(), src.shape().str());
  const int d = normalize_dim("scatter_add", dim, base.dim());
  for (int k = 0; k < base.dim(); ++k) {
    NOVA_CHECK(index.size(k) <= src.size(k), "scatter_add: index {} is larger than src {} at dim {}",
               index.shape().str(), src.shape().str(), k);
    NOVA_CHECK(k == d || index.size(k) <= base.size(k),
               "scatter_add: index {} is larger than base {} at dim {} (only dim {} may be larger)",
               index.shape().str(), base.shape().str(), k, d);
  }
  check_index_range("scatter_add", index, base.size(d), dim_name(d));
  Tensor out = empty(base.shape(), base.dtype(), base.device());
  trace::KernelRun kernel_run("scatter_add", {&base, &index, &src}, {&out});
  switch (base.device().type) {
    case DeviceType::CPU: cpu::scatter_add(base, d, index, src, out); break;
    case DeviceType::CUDA: cuda::scatter_add(base, d, index, src, out); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&base, &src}))
    record("scatter_add", {base, src}, out,
           [d, index, src_shape = src.shape()](const BackwardCtx& c) {
             Tensor grad_src;
             if (c.needs(1)) {
               // only src's leading block of index's shape was read; the rest gets 0
               grad_src = gather(c.grad, d, index);
               if (grad_src.shape() != src_shape) {
                 std::vector<int64_t> pads;
                 for (int k = src_shape.size() - 1; k >= 0; --k) {
                   pads.push_back(0);
                   pads.push_back(src_shape[k] - grad_src.size(k));
                 }
                 grad_src = pad(grad_src, pads);
               }
             }
             return Grads{c.needs(0) ? c.grad : Tensor(), grad_src};
           },
           NodeOptions().saves("index"));
  return out;
}

// ---- embedding, one_hot ----

Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx) {
  check_defined("embedding", weight, "weight");
  check_index_dtype("embedding", indices, "indices");
  check_same_device("embedding", {&weight, &indices});
  NOVA_CHECK(weight.dim() == 2, "embedding: weight must be 2-D [num, dim], got {}",
             weight.shape().str());
  const int64_t num = weight.size(0), width = weight.size(1);
  NOVA_CHECK(padding_idx < num, "embedding: padding_idx {} out of range for weight {} ({} rows)",
             padding_idx, weight.shape().str(), num);
  check_index_range("embedding", indices, num, fmt::format("the rows of weight {}", weight.shape().str()));
  Shape shape = indices.shape();
  shape.push_back(width);
  Tensor out = empty(shape, weight.dtype(), weight.device());
  Tensor flat = reshape(indices, {-1});
  {
    NoGradGuard no_grad;
    index_select_kernel(weight, 0, flat, reshape(out, {flat.numel(), width}));
  }
  if (autograd::any_requires_grad({&weight})) {
    // g [...indices.shape, dim] -> rows [N, dim], summed into the rows they read
    auto weight_grad = [flat, padding_idx, weight_shape = weight.shape()](const Tensor& g, int64_t start,
                                                                          int64_t count) {
      Tensor rows = reshape(g, {flat.numel(), weight_shape[1]}).slice(0, start, start + count);
      Tensor picked = flat.slice(0, start, start + count);
      if (padding_idx >= 0) rows = rows * unsqueeze(ne(picked, double(padding_idx)).to(rows.dtype()), 1);
      return index_add(zeros(weight_shape, rows.dtype(), rows.device()), 0, picked, rows);
    };
    // grad_split's grouped rule: output row r holds the lookups of indices
    // row r, `per_row` of them, so group k's lookups are one contiguous run
    const int64_t per_row = indices.dim() >= 1 && indices.size(0) > 0 ? flat.numel() / indices.size(0) : 0;
    auto grouped = [weight_grad, per_row](const BackwardCtx& c, const std::vector<int64_t>& groups) {
      std::vector<Tensor> parts;
      int64_t start = 0;
      for (int64_t n : groups) {
        parts.push_back(weight_grad(c.grad, start, n * per_row));
        start += n * per_row;
      }
      return Grads{stack(parts, 0)};  // [K, num, dim]
    };
    record("embedding", {weight}, out,
           [weight_grad, n = flat.numel()](const BackwardCtx& c) { return Grads{weight_grad(c.grad, 0, n)}; },
           NodeOptions().row_local(indices.dim() >= 1).grouped({0}, std::move(grouped)).saves("indices"));
  }
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes, DType dtype) {
  check_index_dtype("one_hot", indices, "indices");
  NOVA_CHECK(num_classes >= 0 || num_classes == -1,
             "one_hot: num_classes must be >= 0 or -1 (infer), got {}", num_classes);
  if (num_classes == -1) {
    NOVA_CHECK(indices.numel() > 0,
               "one_hot: cannot infer num_classes from an empty tensor; pass num_classes");
    num_classes = index_bounds(indices).second + 1;
  }
  check_index_range("one_hot", indices, num_classes, "num_classes");
  Shape shape = indices.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, dtype, indices.device());
  trace::KernelRun kernel_run("one_hot", {&indices}, {&out});
  switch (indices.device().type) {
    case DeviceType::CPU: cpu::one_hot(indices, out); break;
    case DeviceType::CUDA: cuda::one_hot(indices, out); break;
  }
  kernel_run.finish();
  return out;
}

// ---- pad, flip ----

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  check_defined("pad", x);
  NOVA_CHECK(pads.size() % 2 == 0, "pad: pads must come in (before, after) pairs, got {}",
             list_str(pads));
  NOVA_CHECK(static_cast<int>(pads.size() / 2) <= x.dim(),
             "pad: pads {} name {} dims but the input {} has {}", list_str(pads), pads.size() / 2,
             x.shape().str(), x.dim());
  std::vector<int64_t> before(x.dim(), 0);
  Shape shape = x.shape();
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    const int d = x.dim() - 1 - static_cast<int>(k);  // pairs run from the last dim backwards
    before[d] = pads[2 * k];
    shape[d] = x.size(d) + pads[2 * k] + pads[2 * k + 1];
    NOVA_CHECK(shape[d] >= 0, "pad: pads ({}, {}) on dim {} of {} leave a negative size {}",
               pads[2 * k], pads[2 * k + 1], d, x.shape().str(), shape[d]);
  }
  Tensor out = empty(shape, x.dtype(), x.device());
  trace::KernelRun kernel_run("pad", {&x}, {&out});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::pad(x, before, value, out); break;
    case DeviceType::CUDA: cuda::pad(x, before, value, out); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x})) {
    std::vector<int64_t> inverse(pads.size());
    for (size_t i = 0; i < pads.size(); ++i) inverse[i] = -pads[i];
    // row-local unless dim 0 itself is padded (pairs run from the last dim)
    const size_t dim0 = static_cast<size_t>(x.dim()) - 1;
    const bool rows_kept = x.dim() >= 1 && (pads.size() / 2 <= dim0 || (pads[2 * dim0] == 0 && pads[2 * dim0 + 1] == 0));
    record("pad", {x}, out, [inverse](const BackwardCtx& c) { return Grads{pad(c.grad, inverse)}; },
           NodeOptions().row_local(rows_kept));
  }
  return out;
}

Tensor flip(const Tensor& x, const std::vector<int64_t>& dims) {
  check_defined("flip", x);
  std::vector<bool> flip_dim(x.dim(), false);
  for (int64_t dim : dims) {
    const int d = normalize_dim("flip", dim, x.dim());
    if (x.dim() == 0) continue;  // a 0-d tensor reads the same backwards
    NOVA_CHECK(!flip_dim[d], "flip: dim {} appears more than once in dims {}", d,
               list_str(dims));
    flip_dim[d] = true;
  }
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  trace::KernelRun kernel_run("flip", {&x}, {&out});
  switch (x.device().type) {
    case DeviceType::CPU: cpu::flip(x, flip_dim, out); break;
    case DeviceType::CUDA: cuda::flip(x, flip_dim, out); break;
  }
  kernel_run.finish();
  if (autograd::any_requires_grad({&x}))
    record("flip", {x}, out, [dims](const BackwardCtx& c) { return Grads{flip(c.grad, dims)}; },
           NodeOptions().row_local(x.dim() >= 1 && !flip_dim[0]));
  return out;
}

}  // namespace nova::ops
