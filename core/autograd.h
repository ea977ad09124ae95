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
// Grouped mode (grouped_grad, used by grad_split's fused path, see
// core/grad_split.h): the batch (dim 0) is K contiguous groups of rows. One
// backward keeps activation gradients as ordinary tensors but gives every
// parameter a gradient per group, [K, *shape]: ops whose backward sums over
// rows into a parameter (linear, the norm layers) read BackwardCtx::groups
// and flag such a gradient with set_grouped(i); the engine itself splits the
// sum of a gradient over an input the op broadcast along dim 0 (a bias, a
// scale). That is only right when no op mixes rows across groups, so an op
// marks its node row_local (set_row_local) when its output row i depends
// only on row i of its batch inputs, and the grouped engine refuses every
// node that is not so marked. Off grouped mode all of this is one branch.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace nova::autograd {

/// What a backward function receives.
struct BackwardCtx {
  const Tensor& grad;  // d loss / d output, shaped like the output
  const Tensor& out;   // the op's output (only if recorded with save_output)
  uint64_t needs_mask; // bit i set: input i needs a gradient
  // grouped mode only: rows of dim 0 per group (null otherwise). A backward
  // that sums over rows into input i may then return that input's gradient
  // per group, [K, *input shape], and must say so with set_grouped(i).
  const std::vector<int64_t>* groups = nullptr;
  mutable uint64_t grouped_mask = 0;
  bool needs(int i) const { return (needs_mask >> i) & 1u; }
  void set_grouped(int i) const { grouped_mask |= uint64_t(1) << i; }
};

/// One gradient per input, in input order; an undefined Tensor means "none".
using Grads = std::vector<Tensor>;
using BackwardFn = std::function<Grads(const BackwardCtx&)>;

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
  // output row i (dim 0) depends only on row i of the inputs that have the
  // output's rows; inputs broadcast along dim 0 are shared by all rows. Only
  // such nodes may run in grouped mode (see the top of this file).
  bool row_local = false;
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

/// True when grad mode is on and some input requires a gradient: an op calls
/// this first and skips building the backward closure otherwise.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);

/// Attaches a Node named `name` to `out` when grad mode is on and any input
/// requires grad; otherwise does nothing. `out` must be a fresh result of the
/// op. save_output keeps the output for BackwardCtx::out.
void record(const char* name, const std::vector<Tensor>& inputs, Tensor& out, BackwardFn fn,
            bool save_output = false);

/// Marks the node that produced `out` as row-local (Node::row_local) when
/// `row_local` is true. Call it right after record() on the op's fresh
/// result, never on a tensor an op passed through unchanged; does nothing
/// when no node was recorded.
void set_row_local(const Tensor& out, bool row_local = true);

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

/// Grouped backward (the second phase of grad_split's fused path): the
/// gradient of sum(output * grad_output) with respect to each of `params`
/// (leaves with requires_grad), per group of rows: [K, *param shape], where
/// group k is the group_sizes[k] rows of output's dim 0 after the first k
/// groups. Undefined for a parameter the output does not reach. Throws
/// nova::Error, naming the op, when a node on the way is not row-local, when
/// a per-group gradient would flow into anything but a parameter, or when a
/// parameter would receive a gradient summed over all groups. The graph is
/// kept (retain_graph); .grad is not touched; no graph is recorded.
std::vector<Tensor> grouped_grad(const Tensor& output, const Tensor& grad_output,
                                 const std::vector<Tensor>& params,
                                 const std::vector<int64_t>& group_sizes);

}  // namespace nova::autograd

namespace nova {
using autograd::NoGradGuard;
}
