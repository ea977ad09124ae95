// core/autograd.cpp: graph recording and the backward engine (see autograd.h).
//
// The engine in three steps, as in flashlight's Variable::backward:
//   1. walk the graph from the roots, marking the nodes that must run
//      (all of them for backward(); those that lead to an input for grad())
//      and counting, for each, how many marked nodes send it a gradient;
//   2. run nodes whose count has dropped to zero (reverse topological order),
//      summing the gradients each receives into one buffer;
//   3. leaves: add the buffer into .grad (backward) or hand it back (grad).
// Step 2 runs a node either the plain way (plain_backward) or through the
// caller's BackwardHook (grad_with_hook; grad_split's grouped backward lives
// in core/grad_split.cpp): one branch per node, and no op is known by name.
#include "core/autograd.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/elementwise.h"
#include "core/factory.h"
#include "core/profile.h"
#include "core/reduce.h"

namespace nova::autograd {

namespace {

thread_local bool grad_enabled = true;

std::shared_ptr<Node> accumulator_of(const Tensor& leaf) {
  TensorImpl* impl = leaf.impl();
  if (!impl->grad_accumulator) {
    auto node = std::make_shared<Node>();
    node->name = "AccumulateGrad";
    node->is_accumulator = true;
    node->leaf = leaf.impl_ptr();
    impl->grad_accumulator = node;
  }
  return impl->grad_accumulator;
}

/// Where the gradient of t goes: its op's node, its accumulator, or nowhere.
std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  return accumulator_of(t);
}

// ---- anomaly mode ----

std::atomic<int> anomaly_state{-1};  // -1: NOVA_ANOMALY not read yet; 0 off; 1 on
std::atomic<uint64_t> anomaly_ops{0};  // ops recorded since anomaly mode last came on

/// "2 NaN and 0 infinite values among 12" for a floating tensor holding some
/// non-finite value; empty when every value is finite (or t is not floating).
std::string non_finite_summary(const Tensor& t) {
  if (!t.defined() || !t.is_floating_point() || t.numel() == 0) return "";
  NoGradGuard no_grad;
  const std::vector<double> v = t.to_vector<double>();
  int64_t nan = 0, inf = 0;
  for (double x : v) {
    nan += std::isnan(x);
    inf += std::isinf(x);
  }
  if (nan + inf == 0) return "";
  return fmt::format("{} NaN and {} infinite values among {}", nan, inf, v.size());
}

/// "op #7, recorded in scope 'D step'": where the node's forward ran.
std::string anomaly_origin(const Node& n) {
  std::string where = fmt::format("op #{} since anomaly mode came on", n.anomaly_seq);
  where += n.anomaly_scope.empty() ? ", recorded outside every profile::Scope"
                                   : ", recorded in scope '" + n.anomaly_scope + "'";
  return where;
}

std::string shapes_of(const std::vector<Shape>& shapes) {
  std::string s;
  for (const Shape& shape : shapes) s += (s.empty() ? "" : ", ") + shape.str();
  return s;
}

/// Throws when a gradient a node's backward returned holds NaN or infinity.
void check_backward_anomaly(const Node& node, const BackwardCtx& ctx, const Grads& grads) {
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!ctx.needs(int(i)) || !grads[i].defined()) continue;
    const std::string bad = non_finite_summary(grads[i]);
    if (bad.empty()) continue;
    const std::string incoming = non_finite_summary(ctx.grad);
    fail("anomaly mode: the backward of '{}' ({}) returned for its input {} (shape {}) a gradient with {}; "
         "the gradient it received (shape {}) had {}; the op's inputs had shapes {}",
         node.name, anomaly_origin(node), i, grads[i].shape().str(), bad, ctx.grad.shape().str(),
         incoming.empty() ? "only finite values" : incoming, shapes_of(node.input_shapes));
  }
}

/// The plain step of a node: its backward function, then each gradient
/// fitted to its input's shape and dtype.
Grads plain_backward(const Node& node, const BackwardCtx& ctx) {
  Grads grads = node.fn(ctx);
  for (size_t i = 0; i < grads.size(); ++i)
    if (ctx.needs(i) && grads[i].defined())
      grads[i] = fit_gradient(node.name, grads[i], node.input_shapes[i], node.input_dtypes[i]);
  return grads;
}

struct Engine {
  bool retain_graph = false;
  bool create_graph = false;
  const BackwardHook* hook = nullptr;  // null: every node takes the plain step
  // grad() mode: gradients of these nodes are captured, leaves are not touched
  std::unordered_map<Node*, size_t> capture_index;
  std::vector<Tensor> captured;

  std::unordered_set<Node*> needed;
  std::unordered_map<Node*, int> pending;  // marked senders not yet run
  std::unordered_map<Node*, Tensor> buffer;

  // Step 1. Marks nodes (iteratively: graphs of long sequences are deep).
  void mark(const std::vector<std::shared_ptr<Node>>& roots) {
    bool capture_mode = !capture_index.empty();
    // With one capture target nothing below it can be needed (a node below it
    // could only reach it through a cycle), so the walk stops there: grad of
    // a loss with respect to a model's output (grad_split's loss heads, a
    // gradient penalty's input) then visits the loss head, not the model.
    const bool stop_at_target = capture_index.size() == 1;
    // Post-order DFS: a node is needed if it is a capture target or (backward
    // mode) always, or if any of its next nodes is needed.
    std::unordered_map<Node*, bool> visited;
    struct Frame { Node* node; size_t child; };
    std::vector<Frame> stack;
    for (const auto& r : roots) {
      if (!r || visited.count(r.get())) continue;
      stack.push_back({r.get(), 0});
      visited[r.get()] = false;
      while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.child == 0 && stop_at_target && capture_index.count(f.node)) f.child = f.node->next.size();
        if (f.child < f.node->next.size()) {
          Node* child = f.node->next[f.child++].get();
          if (child && !visited.count(child)) {
            visited[child] = false;
            stack.push_back({child, 0});
          }
          continue;
        }
        Node* n = f.node;
        bool need = !capture_mode || capture_index.count(n);
        for (const auto& c : n->next)
          if (c && needed.count(c.get())) need = true;
        if (need) needed.insert(n);
        stack.pop_back();
      }
    }
    for (Node* n : needed)
      for (const auto& c : n->next)
        if (c && needed.count(c.get())) ++pending[c.get()];
  }

  void add_to_buffer(Node* n, const Tensor& g) {
    auto it = buffer.find(n);
    if (it == buffer.end() || !it->second.defined()) {
      buffer[n] = g;
    } else {
      it->second = ops::add(it->second, g);
    }
  }

  void accumulate_into_leaf(Node* n, const Tensor& g) {
    auto leaf = n->leaf.lock();
    if (!leaf) return;  // the leaf was destroyed: nobody can read its .grad
    Tensor grad(leaf->grad);
    if (create_graph) {
      leaf->grad = grad.defined() ? ops::add(grad, g).impl_ptr() : g.impl_ptr();
    } else if (grad.defined() && !grad.requires_grad()) {
      NoGradGuard no_grad;
      grad.add_(g);  // in place: .grad may be a view into a flat buffer
    } else {
      // the gradient may be shared with a caller's tensor (e.g. the seed of
      // backward), and later accumulation writes in place: own a copy then
      bool owned = g.is_contiguous() && g.storage().use_count() == 1 && !g.requires_grad();
      leaf->grad = owned ? g.impl_ptr() : g.detach().clone().impl_ptr();
    }
  }

  // Step 2 and 3.
  void run(const std::vector<std::shared_ptr<Node>>& roots, const std::vector<Tensor>& root_grads) {
    mark(roots);
    std::vector<std::shared_ptr<Node>> ready;
    for (size_t i = 0; i < roots.size(); ++i) {
      if (!roots[i] || !needed.count(roots[i].get())) continue;
      add_to_buffer(roots[i].get(), root_grads[i]);
    }
    for (const auto& r : roots)
      if (r && needed.count(r.get()) && pending[r.get()] == 0) {
        ready.push_back(r);
        pending[r.get()] = -1;  // queued
      }

    GradModeGuard mode(create_graph);
    while (!ready.empty()) {
      std::shared_ptr<Node> node = ready.back();
      ready.pop_back();
      Tensor g = buffer[node.get()];
      buffer.erase(node.get());

      auto cap = capture_index.find(node.get());
      if (cap != capture_index.end()) captured[cap->second] = g;
      if (node->is_accumulator) {
        // undefined: every sender said "no gradient" (a node that takes a
        // tensor it turned out not to read, e.g. a cell's unused parameter)
        if (capture_index.empty() && g.defined()) accumulate_into_leaf(node.get(), g);
        continue;
      }
      uint64_t mask = 0;
      for (size_t i = 0; i < node->next.size(); ++i)
        if (node->next[i] && needed.count(node->next[i].get())) mask |= uint64_t(1) << i;
      // nothing arrived (every sender returned "no gradient") or nothing is
      // wanted below this node: skip the backward function, release children
      if (!g.defined() || mask == 0) {
        release_children(node, ready);
        continue;
      }

      NOVA_CHECK(!node->released,
                 "autograd: backward through {} a second time, but its saved tensors were freed "
                 "by the first backward; pass retain_graph=true to the first one",
                 node->name);

      Tensor out;
      if (node->saved_out) {
        auto impl = std::make_shared<TensorImpl>(*node->saved_out);
        if (create_graph) {
          impl->grad_fn = node;
          impl->requires_grad = true;
        }
        out = Tensor(impl);
      }
      BackwardCtx ctx{g, out, mask};
      Grads grads = hook ? (*hook)(*node, ctx) : plain_backward(*node, ctx);
      NOVA_CHECK(grads.size() == node->next.size(), "autograd: {} backward returned {} gradients for {} inputs",
                 node->name, grads.size(), node->next.size());
      if (is_anomaly_enabled()) check_backward_anomaly(*node, ctx, grads);
      if (!retain_graph) {
        node->fn = nullptr;
        node->saved_out.reset();
        node->released = true;
      }
      for (size_t i = 0; i < node->next.size(); ++i)
        if (ctx.needs(i) && grads[i].defined()) add_to_buffer(node->next[i].get(), grads[i]);
      release_children(node, ready);
    }
  }

  // One sender fewer for each needed child; children with none left are ready.
  void release_children(const std::shared_ptr<Node>& node, std::vector<std::shared_ptr<Node>>& ready) {
    for (const auto& child : node->next) {
      if (!child || !needed.count(child.get())) continue;
      if (--pending[child.get()] == 0) {
        ready.push_back(child);
        pending[child.get()] = -1;
      }
    }
  }
};

std::vector<Tensor> seed_gradients(const char* api, const std::vector<Tensor>& roots,
                                   const std::vector<Tensor>& grads) {
  NOVA_CHECK(grads.empty() || grads.size() == roots.size(),
             "{}: got {} gradients for {} outputs", api, grads.size(), roots.size());
  std::vector<Tensor> seeds(roots.size());
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    check_defined(api, r, "output");
    NOVA_CHECK(r.requires_grad(),
               "{}: output {} does not require grad and has no grad_fn (was it computed under "
               "NoGradGuard, or from tensors without requires_grad?)", api, i);
    if (i < grads.size() && grads[i].defined()) {
      NOVA_CHECK(grads[i].shape() == r.shape(), "{}: gradient of shape {} for an output of shape {}",
                 api, grads[i].shape().str(), r.shape().str());
      seeds[i] = grads[i];
    } else {
      NOVA_CHECK(r.numel() == 1,
                 "{}: output {} has shape {}; a gradient is needed for a non-scalar output", api,
                 i, r.shape().str());
      seeds[i] = ones_like(r);
    }
  }
  return seeds;
}

/// grad() and grad_with_hook(): runs the nodes leading to `inputs` and hands
/// back the gradients arriving at them.
std::vector<Tensor> captured_gradients(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                                       const std::vector<Tensor>& grad_outputs, bool create_graph,
                                       bool allow_unused, bool retain_graph, const BackwardHook* hook) {
  std::vector<Tensor> seeds = seed_gradients("grad", outputs, grad_outputs);
  // nothing asked for; an empty capture set would run as backward() into .grad
  if (inputs.empty()) return {};
  Engine engine;
  engine.retain_graph = retain_graph || create_graph;
  engine.create_graph = create_graph;
  engine.hook = hook;
  engine.captured.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    check_defined("grad", inputs[i]);
    NOVA_CHECK(inputs[i].requires_grad(), "grad: input {} (shape {}) does not require grad", i,
               inputs[i].shape().str());
    Node* n = gradient_edge(inputs[i]).get();
    NOVA_CHECK(!engine.capture_index.count(n), "grad: input {} is listed twice", i);
    engine.capture_index[n] = i;
  }
  std::vector<std::shared_ptr<Node>> nodes;
  for (const Tensor& o : outputs) nodes.push_back(gradient_edge(o));
  engine.run(nodes, seeds);
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor& g = engine.captured[i];
    NOVA_CHECK(g.defined() || allow_unused,
               "grad: input {} (shape {}) is not reached from the outputs; pass allow_unused=true "
               "to get an undefined gradient instead", i, inputs[i].shape().str());
    if (g.defined() && !create_graph) g = g.detach();
  }
  return engine.captured;
}

}  // namespace

bool is_anomaly_enabled() {
  int state = anomaly_state.load(std::memory_order_relaxed);
  if (state < 0) {
    const char* env = std::getenv("NOVA_ANOMALY");
    int from_env = env && *env && std::strcmp(env, "0") != 0 ? 1 : 0;
    anomaly_state.compare_exchange_strong(state, from_env);  // a guard set meanwhile wins
    state = anomaly_state.load();
  }
  return state == 1;
}

void set_anomaly_enabled(bool enabled) {
  const int was = anomaly_state.exchange(enabled ? 1 : 0);
  if (enabled && was != 1) anomaly_ops = 0;  // number the ops from this moment
}

bool is_grad_enabled() { return grad_enabled; }
void set_grad_enabled(bool enabled) { grad_enabled = enabled; }

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

Tensor fit_gradient(const char* op, const Tensor& g, const Shape& shape, DType dtype) {
  Tensor out = g;
  if (out.shape() != shape) {
    out = ops::sum_to(out, shape);
    NOVA_CHECK(out.shape() == shape, "autograd: {} backward returned a gradient of shape {} for an input of shape {}",
               op, g.shape().str(), shape.str());
  }
  if (out.dtype() != dtype) out = out.to(dtype);
  return out;
}

void record(const char* name, const std::vector<Tensor>& inputs, Tensor& out, BackwardFn fn,
            NodeOptions options) {
  if (!grad_enabled) return;
  bool any = false;
  for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
  if (!any) return;
  NOVA_CHECK(inputs.size() <= 64, "autograd: {} has {} inputs; at most 64 are supported", name,
             inputs.size());
  auto node = std::make_shared<Node>();
  node->name = name;
  node->next.reserve(inputs.size());
  node->input_shapes.reserve(inputs.size());
  node->input_dtypes.reserve(inputs.size());
  for (const Tensor& t : inputs) {
    node->next.push_back(gradient_edge(t));
    node->input_shapes.push_back(t.defined() ? t.shape() : Shape());
    node->input_dtypes.push_back(t.defined() ? t.dtype() : kFloat32);
  }
  node->fn = std::move(fn);
  node->grouping = std::move(options.grouping);
  node->saved_names = options.saved_names;
  if (options.saves_output) {
    node->saved_out = std::make_shared<TensorImpl>(*out.impl());
    node->saved_out->grad_fn.reset();
    node->saved_out->requires_grad = false;
  }
  if (is_anomaly_enabled()) {
    node->anomaly_seq = ++anomaly_ops;
    node->anomaly_scope = profile::current_scope();
    const std::string bad = non_finite_summary(out);
    NOVA_CHECK(bad.empty(), "anomaly mode: the forward of '{}' ({}) gave an output of shape {} with {}; its inputs "
               "had shapes {}", name, anomaly_origin(*node), out.shape().str(), bad, shapes_of(node->input_shapes));
  }
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads,
              bool retain_graph, bool create_graph) {
  std::vector<Tensor> seeds = seed_gradients("backward", roots, grads);
  std::vector<std::shared_ptr<Node>> nodes;
  for (const Tensor& r : roots) nodes.push_back(gradient_edge(r));
  Engine engine;
  engine.retain_graph = retain_graph || create_graph;
  engine.create_graph = create_graph;
  engine.run(nodes, seeds);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph, bool allow_unused) {
  return grad(outputs, inputs, grad_outputs, create_graph, allow_unused, create_graph);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph, bool allow_unused,
                         bool retain_graph) {
  return captured_gradients(outputs, inputs, grad_outputs, create_graph, allow_unused, retain_graph, nullptr);
}

std::vector<Tensor> grad_with_hook(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                                   const std::vector<Tensor>& grad_outputs, const BackwardHook& hook) {
  return captured_gradients(outputs, inputs, grad_outputs, false, true, true, &hook);
}

Grads recompute_grads(const Tensor& recomputed, const std::vector<Tensor>& inputs, const Tensor& grad) {
  std::vector<Tensor> wrt;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) wrt.push_back(t);
  const std::vector<Tensor> g = autograd::grad({recomputed}, wrt, {grad}, /*create_graph=*/true,
                                               /*allow_unused=*/true);
  Grads grads(inputs.size());
  for (size_t i = 0, k = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) grads[i] = g[k++];
  return grads;
}

}  // namespace nova::autograd
