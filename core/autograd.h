// core/autograd.h: the reverse-mode autograd engine (define-by-run).
//
// Every differentiable op calls record(): the result gets a Node holding the
// op's backward function and an edge to each input's Node (an op's Node for a
// computed input, an accumulator Node for a leaf with requires_grad). Every
// Node has exactly one output, so "the gradient of a tensor" is "the gradient
// arriving at its grad_fn"; ops with several results (split, chunk) are built
// from single-output views.
//
// backward() walks the graph in reverse topological order, sums the gradients
// arriving at each Node, calls its backward function, and adds leaf gradients
// into .grad. Backward functions are written with nova ops, so with
// create_graph=true they are recorded too and can be differentiated again
// (gradient penalties, double backward).
//
// The engine also sums a gradient back to its input's shape when the op
// broadcast that input (so backward functions may return the broadcast
// gradient) and converts it to the input's dtype.
//
// One hook: grad_with_hook() runs the same walk, but hands every node to a
// BackwardHook in place of the plain step "call the backward function, fit
// each gradient to its input". grad_split's fused path (core/grad_split.cpp)
// is that hook: one backward over a batch of K groups of rows, in which
// every parameter gets its gradient per group. What the hook needs from an
// op, the op declares where it records its node, in NodeOptions:
//   row_local   output row i (dim 0) depends only on row i of the inputs
//               that have the output's rows (elementwise ops, views that
//               keep dim 0, reductions over other dims, linear, ...); the
//               hook refuses every node not so declared, optionally with the
//               op's hint on how to fix it;
//   grouped     a grouped rule: the op's per-group gradients [K, *shape] of
//               the inputs it sums over rows into (linear's weight and bias,
//               the norms' affine parameters). To let a new op's parameters
//               split per group (conv next), write its rule and attach it:
//                 record("conv2d", {x, w, b}, y, backward,
//                        NodeOptions().row_local().grouped({1, 2}, conv2d_grouped));
//               where conv2d_grouped(c, groups) returns dw_k and db_k for the
//               inputs c.needs(), and dx comes from `backward` (GroupedFn).
// The plain engine reads none of it: for ordinary backward and grad it is
// one branch (hook or not) per node.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nova::autograd {

/// What a backward function receives.
struct BackwardCtx {
  const Tensor& grad;  // d loss / d output, shaped like the output
  const Tensor& out;   // the op's output (only if recorded with save_output)
  uint64_t needs_mask; // bit i set: input i needs a gradient
  bool needs(int i) const { return (needs_mask >> i) & 1u; }
};

/// One gradient per input, in input order; an undefined Tensor means "none".
using Grads = std::vector<Tensor>;
using BackwardFn = std::function<Grads(const BackwardCtx&)>;

/// An op's grouped rule (grad_split, core/grad_split.h): `groups` cuts the
/// rows (dim 0) of the op's output into K contiguous groups; the rule returns
/// one entry per input, and for each input it covers that c.needs(), that
/// input's gradient per group, [K, *input shape]: entry k sums only over the
/// rows of group k (linear: dW_k = g_k^T x_k). It may leave the other inputs
/// (dx) undefined, and the hook asks the op's backward function for them,
/// or give their ordinary gradients when it forms them anyway (layer_norm's
/// dx shares xhat with dw). The hook calls the rule on every grouped
/// backward through the node, even when no covered input needs a gradient,
/// so a rule may also refuse by throwing (batch_norm does when its per-group
/// statistics used other groups).
using GroupedFn = std::function<Grads(const BackwardCtx& c, const std::vector<int64_t>& groups)>;

/// What grad_split's grouped backward knows of a node (see the top of this
/// file); set through NodeOptions, read only by the hook.
struct Grouping {
  bool row_local = false;
  const char* hint = nullptr;  // appended to the refusal of a node that is not row-local
  uint64_t inputs = 0;         // bit i set: `rule` gives input i's gradient per group
  GroupedFn rule;              // empty: the op has no grouped rule
};

struct Node {
  const char* name = "";
  // per input: where its gradient goes (null: input needs no gradient), and
  // the input's shape and dtype, to reduce broadcast gradients back to them
  std::vector<std::shared_ptr<Node>> next;
  std::vector<Shape> input_shapes;
  std::vector<DType> input_dtypes;
  BackwardFn fn;  // empty for accumulators and after a non-retained backward
  // the op's output without autograd metadata (a reference to it would make a
  // cycle output -> node -> output); rebuilt with grad_fn for create_graph
  std::shared_ptr<TensorImpl> saved_out;
  // accumulators: the leaf whose .grad receives the gradient
  std::weak_ptr<TensorImpl> leaf;
  bool is_accumulator = false;
  bool released = false;  // fn freed by a backward without retain_graph
  Grouping grouping;  // for grad_split's hook only
  const char* saved_names = nullptr;  // what fn keeps besides the output (NodeOptions::saves), for to_dot
  // anomaly mode only (AnomalyGuard): the op's number among the ops recorded
  // since anomaly mode came on and the user scope it ran in
  // (profile::Scope), for the error that names it
  uint64_t anomaly_seq = 0;
  std::string anomaly_scope;
};

/// What record() sets on a node besides its backward function, chained:
///   record("softmax", {x}, y, backward, NodeOptions().save_output().row_local(d != 0));
struct NodeOptions {
  /// Keep the op's output for BackwardCtx::out.
  NodeOptions& save_output(bool on = true) {
    saves_output = on;
    return *this;
  }
  /// Declares the node row-local when `on` (Grouping, top of this file):
  /// output row i depends only on row i of the inputs that have the output's
  /// rows; inputs broadcast along dim 0 are shared by all rows. `hint`, when
  /// the node is not row-local, tells grad_split's refusal how to fix it.
  NodeOptions& row_local(bool on = true, const char* hint = nullptr) {
    grouping.row_local = on;
    grouping.hint = hint;
    return *this;
  }
  /// Names what the backward function keeps besides the output ("x,
  /// weight"), for the graph pictures (core/graph_dot.h); a static string.
  NodeOptions& saves(const char* names) {
    saved_names = names;
    return *this;
  }
  /// Attaches the op's grouped rule (GroupedFn) for the listed inputs.
  NodeOptions& grouped(std::initializer_list<int> inputs, GroupedFn rule) {
    for (int i : inputs) grouping.inputs |= uint64_t(1) << i;
    grouping.rule = std::move(rule);
    return *this;
  }
  bool saves_output = false;
  const char* saved_names = nullptr;
  Grouping grouping;
};

/// Whether ops record nodes now (thread-local; true by default).
bool is_grad_enabled();
void set_grad_enabled(bool enabled);

/// Turns recording off for its scope (like torch.no_grad()).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(previous_); }
 private:
  bool previous_;
};

/// Sets recording on or off for its scope, restoring the previous mode.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(is_grad_enabled()) { set_grad_enabled(enabled); }
  ~GradModeGuard() { set_grad_enabled(previous_); }
 private:
  bool previous_;
};

/// Anomaly mode: after each recorded op's forward, its output, and after each
/// node's backward, every gradient it returned, is checked for NaN and
/// infinity; the first one found throws nova::Error naming the op, which
/// input's gradient (backward), the shapes, the op's number in recording
/// order and the user scope it was recorded in (profile::Scope). For
/// debugging: each check reads the whole tensor (a copy from the GPU on
/// CUDA). On for the process when the environment variable NOVA_ANOMALY is
/// set to anything but "0" at the first call; AnomalyGuard turns it on or
/// off for a scope. Ops that record no node (grad mode off, no input
/// requiring a gradient) are not checked.
bool is_anomaly_enabled();
void set_anomaly_enabled(bool enabled);

/// Anomaly mode on (or off) for its scope, restoring the previous mode.
class AnomalyGuard {
 public:
  explicit AnomalyGuard(bool enabled = true) : previous_(is_anomaly_enabled()) { set_anomaly_enabled(enabled); }
  ~AnomalyGuard() { set_anomaly_enabled(previous_); }
  AnomalyGuard(const AnomalyGuard&) = delete;
  AnomalyGuard& operator=(const AnomalyGuard&) = delete;
 private:
  bool previous_;
};

/// True when grad mode is on and some input requires a gradient: an op calls
/// this first and skips building the backward closure otherwise.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);

/// Attaches a Node named `name` to `out` when grad mode is on and any input
/// requires grad; otherwise does nothing. `out` must be a fresh result of the
/// op. `options`: save the output, row-locality, a grouped rule.
void record(const char* name, const std::vector<Tensor>& inputs, Tensor& out, BackwardFn fn,
            NodeOptions options = {});

/// Backpropagates from `roots` (with `grads`, one per root, undefined = ones
/// for a scalar root) and accumulates into the .grad of every leaf reached.
/// Without retain_graph the saved tensors are freed and a second backward
/// through the same nodes throws.
void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads = {},
              bool retain_graph = false, bool create_graph = false);

/// Gradients of sum(outputs[i] * grad_outputs[i]) with respect to `inputs`,
/// returned instead of accumulated into .grad (like torch.autograd.grad).
/// Only the part of the graph leading to `inputs` runs. An input the outputs
/// do not depend on throws unless allow_unused (then its entry is undefined).
/// retain_graph defaults to create_graph, as in PyTorch.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false,
                         bool allow_unused = false);
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph,
                         bool allow_unused, bool retain_graph);

/// For a node whose backward under create_graph differentiates a
/// recomputation of its own forward with ops (the recurrences: their plain
/// backward is a kernel, their second derivative is the ops' one): the
/// gradients of `recomputed` (recorded) with respect to `inputs` given
/// `grad`, with create_graph, one entry per input; undefined for an input
/// that is undefined or does not require grad.
Grads recompute_grads(const Tensor& recomputed, const std::vector<Tensor>& inputs, const Tensor& grad);

/// The engine's hook: runs one node's backward in place of the plain step,
/// "call node.fn(ctx), then fit each gradient to its input's shape and dtype"
/// (fit_gradient). Returns one entry per input (undefined: none); an entry
/// for an input that !ctx.needs() is ignored.
using BackwardHook = std::function<Grads(const Node& node, const BackwardCtx& ctx)>;

/// grad(outputs, inputs, grad_outputs) with every node run by `hook`:
/// create_graph off, the graph retained, an input not reached gets an
/// undefined gradient. grad_split's fused path runs through it.
std::vector<Tensor> grad_with_hook(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                                   const std::vector<Tensor>& grad_outputs, const BackwardHook& hook);

/// Sums gradient g, which op's backward returned for an input of `shape`
/// and `dtype`, over the dims the op broadcast that input along, and
/// converts it to dtype: the plain step's fitting, for hooks to reuse.
Tensor fit_gradient(const char* op, const Tensor& g, const Shape& shape, DType dtype);

}  // namespace nova::autograd

namespace nova {
using autograd::NoGradGuard;
}
