// core/grad_split.cpp: the reference and fused paths of grad_split, the
// grouped backward the fused path runs as the engine's hook (grouped_grad),
// and RowGroupsGuard (see grad_split.h for what each path computes and why
// the fused one is exact).
//
// Shapes: K losses, P = total numel of the params, N = rows of batch_output.
//   reference  K x autograd::grad(L_k, params)            -> flat vector k [P]
//   fused      g_k = dL_k/d batch_output       [N, ...]   (phase 1, K small backwards)
//              G = sum_k g_k                   [N, ...]
//              grouped_grad(batch_output, G)   [K, *param shape] per param (phase 2)
//              -> its slice of each of the K flat vectors [P]               (phase 3)
// Phase 2 per node (grouped_backward): the op's backward function gives the
// activation gradients [N, ...]; its grouped rule, if any, the per-group
// gradients [K, *shape] of what it sums over rows into (linear's dW_k =
// g_k^T x_k); a gradient of an input the op broadcast along dim 0 (a bias,
// a scale) is summed per group here (segment_sum).
#include "core/grad_split.h"

#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/autograd.h"
#include "core/elementwise.h"
#include "core/factory.h"
#include "core/index.h"
#include "core/reduce.h"
#include "core/segment.h"
#include "core/views.h"

namespace nova::autograd {

namespace {

thread_local const std::vector<int64_t>* active_groups = nullptr;

/// Where each parameter's gradient goes in a flat vector of length total.
struct FlatLayout {
  std::vector<int64_t> offsets;
  int64_t total = 0;
  DType dtype = kFloat32;
  Device device;
};

FlatLayout layout_of(const std::vector<Tensor>& params) {
  FlatLayout layout;
  for (size_t i = 0; i < params.size(); ++i) {
    check_defined("grad_split", params[i], "parameter");
    NOVA_CHECK(params[i].requires_grad(), "grad_split: parameter {} (shape {}) does not require grad", i,
               params[i].shape().str());
    if (i == 0) {
      layout.dtype = params[0].dtype();
      layout.device = params[0].device();
    }
    NOVA_CHECK(params[i].dtype() == layout.dtype && params[i].device() == layout.device,
               "grad_split: all parameters must share one dtype and device (they form one flat "
               "vector); parameter 0 is {} on {}, parameter {} is {} on {}",
               dtype_name(layout.dtype), layout.device.str(), i, dtype_name(params[i].dtype()),
               params[i].device().str());
    layout.offsets.push_back(layout.total);
    layout.total += params[i].numel();
  }
  return layout;
}

void check_losses(const std::vector<Tensor>& losses) {
  NOVA_CHECK(!losses.empty(), "grad_split: expected at least one loss, got none");
  for (size_t k = 0; k < losses.size(); ++k) {
    check_defined("grad_split", losses[k], "loss");
    NOVA_CHECK(losses[k].numel() == 1, "grad_split: loss {} must be a scalar, got shape {}", k,
               losses[k].shape().str());
    NOVA_CHECK(losses[k].requires_grad(),
               "grad_split: loss {} does not require grad (was it computed under NoGradGuard, or "
               "from tensors without requires_grad?)", k);
  }
}

/// The K flat gradients as the rows of one [K, P] buffer (each row
/// contiguous): fill(i, columns) writes parameter i's gradients into
/// `columns`, its [K, numel_i] slice of all K rows (row stride P). The fused
/// path fills a parameter with one copy of its [K, *shape] grouped gradient,
/// so the assembly costs one copy (one kernel launch on CUDA) per parameter
/// whatever K is. (With plain malloc this buffer, over 128 KB for the
/// 8-Gaussian D at K = 2, was faulted in afresh on every call; the CPU
/// caching allocator keeps it.)
template <typename Fill>
std::vector<Tensor> assemble(int64_t k_losses, const std::vector<Tensor>& params, const FlatLayout& layout,
                             Fill&& fill) {
  NoGradGuard no_grad;
  Tensor flat = empty({k_losses, layout.total}, layout.dtype, layout.device);
  for (size_t i = 0; i < params.size(); ++i) fill(i, flat.narrow(1, layout.offsets[i], params[i].numel()));
  std::vector<Tensor> rows;
  for (int64_t k = 0; k < k_losses; ++k) rows.push_back(flat.select(0, k));
  return rows;
}

std::vector<Tensor> reference_split(const std::vector<Tensor>& losses, const std::vector<Tensor>& params,
                                    const FlatLayout& layout) {
  const int64_t k_losses = static_cast<int64_t>(losses.size());
  std::vector<std::vector<Tensor>> grads;
  for (const Tensor& loss : losses)
    grads.push_back(grad({loss}, params, {}, /*create_graph=*/false, /*allow_unused=*/true,
                         /*retain_graph=*/true));
  return assemble(k_losses, params, layout, [&](size_t i, Tensor columns) {
    for (int64_t k = 0; k < k_losses; ++k) {  // undefined: the loss does not reach parameter i
      Tensor dst = columns.select(0, k);
      if (grads[k][i].defined()) dst.copy_(ops::reshape(grads[k][i], {params[i].numel()}));
      else dst.zero_();
    }
  });
}

// ---- phase 2: the grouped backward ----
// Invariant: every gradient reaching a non-accumulator node is an ordinary
// one with the batch's N rows, in which row r holds only what the loss of
// row r's group sends (true at the seed, kept by row-local nodes); every
// gradient reaching a parameter is per group, [K, *shape]. The checks below
// refuse whatever would break it, so a result is never silently wrong.

/// g [N, ...] was returned for an input of `shape` that the op broadcast
/// along dim 0 (it has fewer dims than g, or size 1 there while g has more
/// rows), so every row's share must be summed per group.
bool broadcast_along_batch(const Tensor& g, const Shape& shape) {
  if (g.dim() == 0) return false;
  if (shape.size() < g.dim()) return true;
  return shape.size() == g.dim() && shape[0] == 1 && g.size(0) != 1;
}

/// The per-group sums [K, *shape] of g [N, ...] for an input of `shape`
/// broadcast along dim 0 (broadcast_along_batch): segment_sum over the rows,
/// then the usual sum over the other broadcast dims.
Tensor grouped_sum_to(const char* op, const Tensor& g, const std::vector<int64_t>& groups, const Shape& shape) {
  Tensor s = ops::segment_sum(g, groups);  // [K, g.shape[1:]]
  const int lead = g.dim() - shape.size();  // >= 0; shape[0] == 1 when 0
  std::vector<int64_t> dims;
  for (int d = 1; d < g.dim(); ++d) {
    const int64_t want = d - lead >= 0 ? shape[d - lead] : 1;
    if (want == 1 && s.size(d) != 1) {
      dims.push_back(d);
    } else {
      NOVA_CHECK(want == s.size(d), "autograd: {} backward returned a gradient of shape {} for an input of shape {}",
                 op, g.shape().str(), shape.str());
    }
  }
  if (!dims.empty()) s = ops::sum(s, dims, true);
  Shape grouped = shape;
  grouped.insert(0, static_cast<int64_t>(groups.size()));
  return ops::reshape(s, grouped);
}

/// Refuses a node that may mix rows, or a gradient that has lost the rows.
void check_row_local(const Node& node, const Tensor& g, int64_t rows) {
  const char* hint = node.grouping.hint;
  if (!node.grouping.row_local)
    fail("grad_split: the fused path cannot run {} backward: it is not row-local (an output row may depend "
         "on other rows of the batch, so one group's loss would leak into another group's gradient){}; "
         "use GradSplitMode::reference",
         node.name, hint ? fmt::format(" ({})", hint) : std::string());
  NOVA_CHECK(g.dim() >= 1 && g.size(0) == rows,
             "grad_split: {} receives a gradient of shape {}, whose dim 0 is not the batch of {} rows (an op "
             "before it summed over rows without knowing the groups); use GradSplitMode::reference",
             node.name, g.shape().str(), rows);
}

/// What one grouped backward has learnt about nodes it has not run yet:
/// which receive per-group gradients [K, *shape] (a weight computed from
/// parameters, such as spectral norm's weight_orig / sigma, which every row
/// shares) and which receive ordinary batch gradients. A node may be one or
/// the other, never both: the engine would add [K, *shape] to [*shape] by
/// broadcasting, silently.
struct GroupedWalk {
  std::unordered_map<const Node*, Shape> per_group;  // node -> its output's shape
  std::unordered_set<const Node*> batch;
};

[[noreturn]] void refuse_mixed(const Node& next) {
  fail("grad_split: {} receives both per-group gradients (its output is shared by all rows, like a "
       "reparametrised weight) and ordinary batch gradients (its output also has the batch's rows); "
       "the fused path cannot add them; use GradSplitMode::reference",
       next.name);
}

/// Notes where a gradient for input i of `node` goes: per group or not.
void note_destination(GroupedWalk& walk, const Node& node, size_t i, bool per_group) {
  const Node* next = node.next[i].get();
  if (next->is_accumulator) return;
  if (per_group) {
    if (walk.batch.count(next)) refuse_mixed(*next);
    walk.per_group.emplace(next, node.input_shapes[i]);
  } else {
    if (walk.per_group.count(next)) refuse_mixed(*next);
    walk.batch.insert(next);
  }
}

/// The gradient for input i of `node`, fitted for the grouped backward: per
/// group when the op's rule gave it (`by_rule`) or the op broadcast the input
/// along dim 0. A per-group gradient goes to a parameter, or to a node that
/// then runs once per group (per_group_backward); an ordinary one never to a
/// parameter.
Tensor fit_grouped(const Node& node, size_t i, const Tensor& g, bool by_rule, const std::vector<int64_t>& groups,
                   GroupedWalk& walk) {
  const Shape& shape = node.input_shapes[i];
  const DType dtype = node.input_dtypes[i];
  Tensor out;
  bool per_group = true;
  if (by_rule) {
    Shape want = shape;
    want.insert(0, static_cast<int64_t>(groups.size()));
    NOVA_CHECK(g.shape() == want,
               "autograd: {} backward returned a per-group gradient of shape {} for an input of shape {} ({} groups)",
               node.name, g.shape().str(), shape.str(), groups.size());
    out = g;
  } else if (broadcast_along_batch(g, shape)) {
    out = grouped_sum_to(node.name, g, groups, shape);
  } else {
    out = fit_gradient(node.name, g, shape, dtype);
    per_group = false;
  }
  if (out.dtype() != dtype) out = out.to(dtype);
  if (node.next[i]->is_accumulator)
    NOVA_CHECK(per_group,
               "grad_split: a parameter of shape {} gets a gradient from {} that is summed over the whole batch, "
               "not per group ({} reduces rows without knowing the groups, e.g. a plain matmul with a weight, or "
               "an embedding); use GradSplitMode::reference",
               shape.str(), node.name, node.name);
  note_destination(walk, node, i, per_group);
  return out;
}

/// A node whose output every row shares (see GroupedWalk) receives
/// [K, *shape]: its backward runs once per group, which is the reference
/// path on this small subgraph, exact whatever the op is, and its inputs get
/// [K, *input shape] in turn. Cheap where it is used: a weight's
/// reparametrisation costs O(weights), not O(batch).
Grads per_group_backward(const Node& node, const BackwardCtx& c, const Shape& shape, int64_t k_groups,
                         GroupedWalk& walk) {
  Shape want = shape;
  want.insert(0, k_groups);
  NOVA_CHECK(c.grad.shape() == want,
             "grad_split: {} receives a gradient of shape {}, expected per-group {}; use GradSplitMode::reference",
             node.name, c.grad.shape().str(), want.str());
  std::vector<std::vector<Tensor>> parts(node.next.size());
  for (int64_t k = 0; k < k_groups; ++k) {
    Tensor gk = c.grad.select(0, k);
    Grads grads = node.fn(BackwardCtx{gk, c.out, c.needs_mask});
    NOVA_CHECK(grads.size() == node.next.size(), "autograd: {} backward returned {} gradients for {} inputs",
               node.name, grads.size(), node.next.size());
    for (size_t i = 0; i < grads.size(); ++i)
      if (c.needs(i) && grads[i].defined())
        parts[i].push_back(fit_gradient(node.name, grads[i], node.input_shapes[i], node.input_dtypes[i]));
  }
  Grads out(node.next.size());
  for (size_t i = 0; i < out.size(); ++i) {
    if (parts[i].size() != static_cast<size_t>(k_groups)) continue;  // no gradient for this input
    out[i] = ops::stack(parts[i], 0);
    note_destination(walk, node, i, true);
  }
  return out;
}

/// The engine's hook for phase 2: one node's backward with the batch's rows
/// cut into `groups` (`rows` in all). The op's grouped rule, if any, answers
/// for the inputs it covers (and may for others); the op's backward function
/// for the needed inputs left.
Grads grouped_backward(const Node& node, const BackwardCtx& c, const std::vector<int64_t>& groups, int64_t rows,
                       GroupedWalk& walk) {
  auto shared = walk.per_group.find(&node);
  if (shared != walk.per_group.end()) {
    if (walk.batch.count(&node)) refuse_mixed(node);
    return per_group_backward(node, c, shared->second, static_cast<int64_t>(groups.size()), walk);
  }
  check_row_local(node, c.grad, rows);
  const Grouping& grouping = node.grouping;
  const uint64_t by_rule = grouping.rule ? grouping.inputs : 0;
  auto check_size = [&](const Grads& grads, const char* what) {
    NOVA_CHECK(grads.size() == node.next.size(), "autograd: {} {} returned {} gradients for {} inputs", node.name,
               what, grads.size(), node.next.size());
  };
  Grads grads(node.next.size());
  if (grouping.rule) {
    grads = grouping.rule(c, groups);
    check_size(grads, "grouped rule");
  }
  uint64_t left = 0;  // needed, not covered by the rule, and not given by it
  for (size_t i = 0; i < grads.size(); ++i)
    if (c.needs(i) && !((by_rule >> i) & 1u) && !grads[i].defined()) left |= uint64_t(1) << i;
  if (left) {
    Grads rest = node.fn(BackwardCtx{c.grad, c.out, left});
    check_size(rest, "backward");
    for (size_t i = 0; i < grads.size(); ++i)
      if ((left >> i) & 1u) grads[i] = rest[i];
  }
  for (size_t i = 0; i < grads.size(); ++i)
    if (c.needs(i) && grads[i].defined())
      grads[i] = fit_grouped(node, i, grads[i], (by_rule >> i) & 1u, groups, walk);
  return grads;
}

// ---- fused path ----

/// Refuses when some loss reaches a parameter other than through batch_output
/// (a weight regulariser, a gradient penalty, an intermediate activation):
/// phase 2 only sees what flows through batch_output. Walks each loss's graph
/// without entering batch_output's node (usually a handful of nodes).
void check_loss_heads(const std::vector<Tensor>& losses, const Tensor& batch_output,
                      const std::vector<Tensor>& params) {
  std::unordered_map<const Node*, size_t> param_index;
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].impl()->grad_accumulator) param_index[params[i].impl()->grad_accumulator.get()] = i;
  const Node* stop = batch_output.grad_fn().get();
  for (size_t k = 0; k < losses.size(); ++k) {
    std::unordered_set<const Node*> seen;
    std::vector<const Node*> todo;
    const Node* root = losses[k].grad_fn() ? losses[k].grad_fn().get()
                                           : losses[k].impl()->grad_accumulator.get();
    if (root) todo.push_back(root);
    while (!todo.empty()) {
      const Node* n = todo.back();
      todo.pop_back();
      if (n == stop || !seen.insert(n).second) continue;
      auto it = param_index.find(n);
      if (it != param_index.end())
        fail("grad_split: loss {} depends on parameter {} (shape {}) other than through batch_output "
             "(e.g. a weight regulariser, a gradient penalty, or an intermediate activation of the "
             "model); the fused path only splits what flows through batch_output; add such terms "
             "separately or use GradSplitMode::reference",
             k, it->second, params[it->second].shape().str());
      for (const auto& next : n->next)
        if (next) todo.push_back(next.get());
    }
  }
}

/// Refuses when a loss's gradient with respect to batch_output is nonzero
/// outside its own group's rows: its group would then be wrong. `g` is the
/// K gradients side by side, [rows, K, cols]; one host read for all K x K
/// group masses, and a handful of kernels whatever K is.
void check_loss_rows(const Tensor& g, const std::vector<int64_t>& groups) {
  NoGradGuard no_grad;
  const int64_t k_groups = static_cast<int64_t>(groups.size());
  const int64_t rows = g.size(0), cols = g.size(2);
  if (rows == 0) return;
  // mass[j][k] = sum of |g_k| over the rows of group j
  Tensor per_group = ops::segment_sum(ops::abs(ops::reshape(g, {rows, k_groups * cols})), groups);
  std::vector<double> m = ops::sum(ops::reshape(per_group, {k_groups, k_groups, cols}), {2}).to_vector<double>();
  std::vector<int64_t> offsets = ops::segment_offsets("grad_split", groups);
  for (int64_t k = 0; k < k_groups; ++k)
    for (int64_t j = 0; j < k_groups; ++j)
      if (j != k && !(m[j * k_groups + k] == 0.0))
        fail("grad_split: loss {} depends on rows outside its group: its gradient with respect to "
             "batch_output is nonzero in rows [{}, {}) (group {}), but the fused path needs loss {} "
             "to read only rows [{}, {}) (are group_sizes in loss order?); use GradSplitMode::reference",
             k, offsets[j], offsets[j + 1], j, k, offsets[k], offsets[k + 1]);
}

std::vector<Tensor> fused_split(const std::vector<Tensor>& losses, const std::vector<Tensor>& params,
                                const GradSplitOptions& options, const FlatLayout& layout) {
  const Tensor& out = options.batch_output;
  const std::vector<int64_t>& groups = options.group_sizes;
  const int64_t k_losses = static_cast<int64_t>(losses.size());
  NOVA_CHECK(out.defined(), "grad_split: the fused path needs options.batch_output (the model output "
                            "all losses are computed from)");
  NOVA_CHECK(out.grad_fn() != nullptr,
             "grad_split: options.batch_output (shape {}) was not computed by recorded ops (no grad_fn)",
             out.shape().str());
  NOVA_CHECK(groups.size() == losses.size(),
             "grad_split: the fused path needs one group size per loss: {} losses, {} group sizes",
             losses.size(), groups.size());
  std::vector<int64_t> offsets = ops::segment_offsets("grad_split", groups);
  NOVA_CHECK(out.dim() >= 1 && out.size(0) == offsets.back(),
             "grad_split: group sizes add up to {} rows, but batch_output {} has {} rows (dim 0)",
             offsets.back(), out.shape().str(), out.dim() >= 1 ? out.size(0) : 0);
  for (size_t i = 0; i < params.size(); ++i)
    NOVA_CHECK(params[i].is_leaf(),
               "grad_split: the fused path needs parameters that are leaves; parameter {} (shape {}) "
               "was computed by {}; use GradSplitMode::reference",
               i, params[i].shape().str(), params[i].grad_fn()->name);
  check_loss_heads(losses, out, params);

  // phase 1: the loss heads, g_k = dL_k / d batch_output, side by side as
  // [rows, K, cols] for the row check; their sum seeds phase 2
  const int64_t rows = out.size(0), cols = rows == 0 ? 0 : out.numel() / rows;
  std::vector<Tensor> g;
  for (const Tensor& loss : losses) {
    Tensor gk = grad({loss}, {out}, {}, false, /*allow_unused=*/true, /*retain_graph=*/true)[0];
    g.push_back(ops::reshape(gk.defined() ? gk : zeros_like(out), {rows, cols}));
  }
  Tensor side_by_side = ops::stack(g, 1);
  check_loss_rows(side_by_side, groups);
  Tensor seed = ops::reshape(ops::sum(side_by_side, {1}), out.shape());

  // phase 2: one grouped backward, [K, *shape] per parameter
  std::vector<Tensor> per_group = grouped_grad(out, seed, params, groups);

  // phase 3: parameter i's [K, *shape] goes to columns [offset_i, offset_i + numel) of all K rows
  return assemble(k_losses, params, layout, [&](size_t i, Tensor columns) {
    if (per_group[i].defined()) columns.copy_(ops::reshape(per_group[i], {k_losses, params[i].numel()}));
    else columns.zero_();
  });
}

}  // namespace

std::vector<Tensor> grouped_grad(const Tensor& output, const Tensor& grad_output, const std::vector<Tensor>& params,
                                 const std::vector<int64_t>& group_sizes) {
  const char* api = "grouped_grad";
  check_defined(api, output, "output");
  NOVA_CHECK(output.grad_fn() != nullptr,
             "{}: the output (shape {}) was not computed by recorded ops (it has no grad_fn)", api,
             output.shape().str());
  const int64_t rows = ops::segment_offsets(api, group_sizes).back();
  NOVA_CHECK(output.dim() >= 1 && output.size(0) == rows,
             "{}: group sizes add up to {} rows, but the output {} has {} rows (dim 0)", api, rows,
             output.shape().str(), output.dim() >= 1 ? output.size(0) : 0);
  check_defined(api, grad_output, "grad_output");
  NOVA_CHECK(grad_output.shape() == output.shape(), "{}: gradient of shape {} for an output of shape {}", api,
             grad_output.shape().str(), output.shape().str());
  std::unordered_set<const TensorImpl*> seen;
  for (size_t i = 0; i < params.size(); ++i) {
    check_defined(api, params[i], "parameter");
    NOVA_CHECK(params[i].requires_grad() && params[i].is_leaf(),
               "{}: parameter {} (shape {}) must be a leaf with requires_grad", api, i, params[i].shape().str());
    NOVA_CHECK(seen.insert(params[i].impl()).second, "{}: parameter {} is listed twice", api, i);
  }
  // no parameter: nothing to capture
  if (params.empty()) return {};
  GroupedWalk walk;
  return grad_with_hook({output}, params, {grad_output}, [&](const Node& node, const BackwardCtx& c) {
    return grouped_backward(node, c, group_sizes, rows, walk);
  });
}

std::vector<Tensor> grad_split(const std::vector<Tensor>& losses, const std::vector<Tensor>& params,
                               const GradSplitOptions& options) {
  check_losses(losses);
  FlatLayout layout = layout_of(params);
  if (params.empty())  // nothing to differentiate: K empty vectors
    return std::vector<Tensor>(losses.size(), empty({0}, kFloat32, losses[0].device()));
  switch (options.mode) {
    case GradSplitMode::reference: return reference_split(losses, params, layout);
    case GradSplitMode::fused: return fused_split(losses, params, options, layout);
    case GradSplitMode::automatic: return grad_split_auto(losses, params, options).grads;
  }
  fail("grad_split: unknown mode {}", static_cast<int>(options.mode));
}

RowGroupsGuard::RowGroupsGuard(std::vector<int64_t> group_sizes)
    : groups_(std::move(group_sizes)), previous_(active_groups) {
  ops::segment_offsets("RowGroupsGuard", groups_);  // validates: at least one, none negative
  active_groups = &groups_;
}

RowGroupsGuard::~RowGroupsGuard() { active_groups = previous_; }

const std::vector<int64_t>* current_row_groups() { return active_groups; }

// ---- the automatic choice ----

GradSplitResult grad_split_auto(const std::vector<Tensor>& losses, const std::vector<Tensor>& params,
                                const GradSplitOptions& options) {
  GradSplitResult result;
  if (options.mode != GradSplitMode::automatic) {
    result.grads = grad_split(losses, params, options);
    result.mode = options.mode;
    return result;
  }
  GradSplitOptions fused = options, reference;
  fused.mode = GradSplitMode::fused;
  if (options.batch_output.defined()) {
    try {
      result.grads = grad_split(losses, params, fused);
      result.mode = GradSplitMode::fused;
      return result;
    } catch (const Error& refusal) {
      result.reason = refusal.what();
    }
  } else {
    result.reason = "no batch_output given (the fused path needs the model output all losses come from)";
  }
  result.grads = grad_split(losses, params, reference);
  result.mode = GradSplitMode::reference;
  return result;
}

}  // namespace nova::autograd
