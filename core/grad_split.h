// core/grad_split.h: per-loss gradient splitting. The adaptive weighted
// discriminator (thesis section 2.1, Algorithms 1 and 2) and the
// self-correcting optimizer (section 2.2) need the gradient of each of
// several losses (real-data loss, fake-data loss, ...) over the same
// parameters, separately: grad_split({L_1, ..., L_K}, params) returns K flat
// gradient vectors, one per loss.
//
// Two paths, chosen by GradSplitOptions::mode:
//   reference  K backward passes over the same graph (each like
//              autograd::grad with retain_graph). Works for any graph,
//              double-backward ones (gradient penalties) included. Costs K
//              backward passes.
//   fused      about one backward pass, when the K losses come from ONE
//              forward over a batch (options.batch_output, dim 0 = rows)
//              made of K contiguous groups of rows (group_sizes, in loss
//              order: real rows, then fake rows, ...), loss k reads only the
//              rows of group k, and no layer mixes rows across groups.
//
// How the fused path works:
//   1. loss heads: g_k = dL_k / d batch_output for each k (small: batch_output
//      is e.g. [N, 1]); each g_k must be zero outside group k's rows, and the
//      losses may reach the parameters only through batch_output;
//   2. one backward from batch_output with G = sum_k g_k, run through the
//      engine's hook (grouped_grad below; autograd::grad_with_hook):
//      activation gradients stay one tensor of N rows, but every reduction
//      over rows into a parameter is taken per group into K buffers (Linear
//      dW_k = dY_k^T X_k and db_k, LayerNorm / BatchNorm affine sums, biases
//      and scales broadcast over the rows); since the layers are row-local,
//      row r of every activation gradient holds only what the loss of r's
//      group sends, so buffer k is dL_k / d params;
//   3. the K buffers are copied out as the K flat vectors (one copy per
//      parameter: the vectors are the rows of one [K, P] buffer).
// A weight computed from parameters (spectral norm's weight_orig / sigma)
// gets its per-group gradient [K, *shape] like a parameter; the nodes that
// computed it then run their backward once per group (the reference path on
// that small subgraph, exact for any op), down to the parameters.
// It never returns a wrong answer: anything it cannot split exactly (an op
// that mixes rows such as softmax over dim 0 or x - x.mean(0), BatchNorm
// with batch statistics outside RowGroupsGuard, a weight used by a plain
// matmul, a node that would receive both per-group and batch gradients, a
// loss reading another group's rows or reaching a parameter around
// batch_output) makes it throw nova::Error naming the cause and pointing to
// GradSplitMode::reference.
//
// What an op declares for step 2, where it records its node
// (autograd::NodeOptions, core/autograd.h):
//   row_local   output row i depends only on row i of its batch inputs;
//               every other node is refused (with the op's hint, if any);
//   grouped     its grouped rule: the per-group gradients [K, *shape] of
//               the inputs it sums over rows into. linear, layer_norm and
//               batch_norm have one (core/matmul.cpp, core/normalization.cpp);
//               an op without one still splits a parameter it broadcast along
//               dim 0 (x * scale + shift): the hook sums that per group.
// Adding a layer with its own parameters (conv) is one rule and one
// .grouped({...}, rule) on its record() call; nothing in the engine changes.
//
// BatchNorm: with batch statistics BN mixes all rows. Run the forward under
// RowGroupsGuard(group_sizes) and batch_norm normalises each group with its
// own mean and variance, exactly as if BN were applied to each group on its
// own (real and fake never share statistics), which is row-mixing only
// within a group and so splits exactly. The running statistics are updated
// once per group, in group order, with the layer's momentum.
//
// Both paths return gradients without a graph (create_graph is not offered)
// and keep the losses' graph (as retain_graph = true); neither touches .grad.
#pragma once

#include <string>
#include <vector>

#include "core/tensor.h"

namespace nova::autograd {

// automatic: fused where the graph allows, reference otherwise (grad_split_auto)
enum class GradSplitMode { reference, fused, automatic };

struct GradSplitOptions {
  GradSplitMode mode = GradSplitMode::reference;
  Tensor batch_output;               // fused: the model output all losses are computed from
  std::vector<int64_t> group_sizes;  // fused: rows (dim 0) of batch_output per loss, in loss order
};

/// K losses (scalars) -> K flat gradients (1-D, length = total numel of
/// params, in params' order; params' dtype and device, which all params must
/// share). A parameter a loss does not reach gets zeros. The K vectors are
/// the contiguous rows of one [K, P] tensor (views sharing its storage). See
/// the top of this file for the modes.
std::vector<Tensor> grad_split(const std::vector<Tensor>& losses, const std::vector<Tensor>& params,
                               const GradSplitOptions& options = {});

/// Phase 2 of the fused path, on its own: the gradient of sum(output *
/// grad_output) with respect to each of `params` (leaves with
/// requires_grad), per group of rows: [K, *param shape], where group k is the
/// group_sizes[k] rows of output's dim 0 after the first k groups. Undefined
/// for a parameter the output does not reach. Throws nova::Error, naming the
/// op, when a node on the way is not row-local, when a per-group gradient
/// would flow into anything but a parameter, or when a parameter would
/// receive a gradient summed over all groups. The graph is kept
/// (retain_graph); .grad is not touched; no graph is recorded.
std::vector<Tensor> grouped_grad(const Tensor& output, const Tensor& grad_output, const std::vector<Tensor>& params,
                                 const std::vector<int64_t>& group_sizes);

/// Forward under this guard: batch_norm with batch statistics (training mode)
/// uses per-group statistics, groups being group_sizes[k] contiguous rows of
/// dim 0 (which must add up to the input's rows). Thread-local; guards nest
/// (the innermost wins) and restore the previous groups on exit.
class RowGroupsGuard {
 public:
  explicit RowGroupsGuard(std::vector<int64_t> group_sizes);
  ~RowGroupsGuard();
  RowGroupsGuard(const RowGroupsGuard&) = delete;
  RowGroupsGuard& operator=(const RowGroupsGuard&) = delete;

 private:
  std::vector<int64_t> groups_;
  const std::vector<int64_t>* previous_;
};

/// The group sizes of the innermost RowGroupsGuard alive on this thread, or
/// null when there is none (what batch_norm reads).
const std::vector<int64_t>* current_row_groups();

// ---- the automatic choice ----

/// What grad_split_auto did: the gradients, the path that computed them, and
/// why the fused path was not taken (empty when it was).
struct GradSplitResult {
  std::vector<Tensor> grads;
  GradSplitMode mode = GradSplitMode::reference;  // reference or fused
  std::string reason;
};

/// grad_split that says which path it took. GradSplitMode::automatic picks
/// it: fused where the graph allows, reference otherwise. With
/// options.batch_output set it tries the fused path (with
/// options.group_sizes); when that refuses (its nova::Error: a layer that
/// mixes rows, a double-backward graph such as a GN-GAN output normalised by
/// its input gradient, a loss that reaches a parameter around batch_output
/// such as a gradient penalty) it runs the reference path and keeps the
/// refusal's message as the reason. Without batch_output it runs the
/// reference path. A refused try changes nothing (neither path touches .grad
/// or frees the graph) but costs what the fused path did before it refused,
/// up to about one backward: a caller whose graph is the same every step can
/// ask for reference from then on. With mode fused or reference it runs
/// that path, so a caller whose user picks the mode has one call either way.
/// grad_split(losses, params, {GradSplitMode::automatic, ...}) calls this.
GradSplitResult grad_split_auto(const std::vector<Tensor>& losses, const std::vector<Tensor>& params,
                                const GradSplitOptions& options);

}  // namespace nova::autograd
