// nn/module.h: Module, the base of every layer and model (like torch::nn::Module),
// and its state: the StateDict (core/state_dict.h) a checkpoint holds.
//
// A Module owns three ordered lists, filled by its constructor:
//   parameters  trained tensors (leaves with requires_grad)
//   buffers     saved but never trained (BatchNorm's running statistics)
//   children    submodules, whose tensors appear under "child.name"
// Everything else (parameters(), state_dict(), train(), to(), ...) walks these
// lists: self first, then each child in registration order, as PyTorch does,
// so names read "0.weight", "encoder.fc.bias".
//
// A subclass keeps its tensors as members too (`Tensor weight;`): the member
// and the list entry are two handles to one TensorImpl, which is why to() and
// load_state_dict() change tensors in place instead of replacing handles.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/state_dict.h"
#include "core/tensor.h"

namespace nova::nn {

// StateDict and NamedTensors live in core/state_dict.h, so that optim/ (which
// does not see nn/) saves its state in the same container; nn::StateDict
// still names them.
using nova::NamedTensors;
using nova::StateDict;

class Module {
 public:
  /// `name` is the type name used when printing ("Linear", "Sequential").
  explicit Module(std::string name = "Module");
  virtual ~Module() = default;
  // Copies would share parameter handles with the original: say so by
  // refusing, and hold modules by shared_ptr instead.
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // ---- forward ----
  /// The computation of a single-input module. The base version throws:
  /// modules with several inputs define their own methods instead.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  // ---- registration (called from constructors) ----
  /// Adds a parameter and returns its handle (store it in a member). A
  /// non-leaf is detached first, so the parameter is always a leaf; for a
  /// floating tensor requires_grad is set as given.
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  /// Adds a buffer: saved in state_dict() and moved by to(), never trained.
  Tensor register_buffer(const std::string& name, Tensor tensor);
  /// Adds a submodule and returns it, so `fc = register_module("fc", make_shared<Linear>(..))`.
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- walking the tree ----
  /// Parameters of this module, then (recurse) of each child, depth first.
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  /// Direct submodules in registration order.
  std::vector<std::shared_ptr<Module>> children() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const {
    return children_;
  }
  /// Calls fn on every submodule (depth first), then on this module, as PyTorch's apply.
  void apply(const std::function<void(Module&)>& fn);

  // ---- modes ----
  /// Sets training mode here and in every submodule (Dropout, BatchNorm read it).
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// Clears the .grad of every parameter: set_to_none drops it (the next
  /// backward allocates a fresh one); otherwise it is zeroed in place.
  void zero_grad(bool set_to_none = true);

  // ---- conversion, in place ----
  /// Moves every parameter and buffer (and existing grads) to `device`. The
  /// TensorImpls are updated in place, so member handles stay valid.
  void to(Device device);
  /// Converts every floating parameter and buffer (and grads) to `dtype`;
  /// integer buffers (num_batches_tracked) keep theirs, as in PyTorch.
  void to(DType dtype);

  // ---- state ----
  /// Parameters and buffers, detached (sharing memory), in the order
  /// self.params, self.buffers, then each child's state under "child.".
  StateDict state_dict() const;
  /// Copies the values of `state` into this module's tensors. Every check
  /// runs before any value is copied, so a failure leaves the module as it
  /// was: a shape or dtype mismatch throws naming the key and both shapes
  /// (always); missing and unexpected keys throw only when strict.
  void load_state_dict(const StateDict& state, bool strict = true);
  /// Throws what load_state_dict(state, strict) would throw, and copies
  /// nothing: lets a caller loading several objects from one file check
  /// them all before it changes any (models/train_checkpoint.h).
  void check_state_dict(const StateDict& state, bool strict = true) const;

  // ---- printing ----
  const std::string& name() const { return name_; }
  /// Constructor arguments shown inside the parentheses ("in_features=4, ...").
  virtual std::string extra_repr() const { return ""; }
  /// PyTorch-style repr: "Sequential(\n  (0): Linear(...)\n  (1): Tanh()\n)".
  std::string str() const;

 private:
  void add_child(const std::string& name, std::shared_ptr<Module> module);
  void check_new_name(const char* what, const std::string& name) const;
  void collect(const std::string& prefix, bool recurse, bool params, bool bufs,
               NamedTensors* out) const;
  void collect_state(const std::string& prefix, StateDict* out) const;
  // every parameter and buffer, for to() and load_state_dict()
  std::vector<Tensor> all_tensors() const;

  std::string name_;
  bool training_ = true;
  NamedTensors params_;
  NamedTensors buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace nova::nn
