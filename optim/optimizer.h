// optim/optimizer.h: the Optimizer base class, parameter groups and
// per-parameter state, and the classic optimizers SGD, Adam, AdamW, RMSprop
// and Adagrad, with PyTorch's semantics and defaults.
//
// An optimizer holds groups of parameters (leaf tensors with requires_grad
// whose .grad a backward fills). Each group has its own learning rate and
// hyper-parameters, so that a scheduler can change one group's lr, or the
// discriminator and generator of a GAN can share one optimizer object with
// two rates. step() applies one update to every parameter that has a
// gradient, through the fused ops of core/optim.h (the update rules are
// written out there). Typical use:
//
//   optim::Adam opt(model.parameters(), optim::AdamOptions{1e-3});
//   for (...) { opt.zero_grad(); loss(...).backward(); opt.step(); }
//
// Per-group learning rates (groups may override any option by name; options
// a group leaves out take the optimizer-wide defaults, as in PyTorch):
//
//   optim::SGD opt({{body_params}, {head_params, 1e-3, {{"momentum", 0.5}}}},
//                  optim::SGDOptions{1e-2, 0.9});
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/state_dict.h"
#include "core/tensor.h"

namespace nova::optim {

/// "Take the optimizer's default": the lr of a ParamGroup built without one.
constexpr double kDefaultLr = std::numeric_limits<double>::quiet_NaN();

/// One group of parameters and its hyper-parameters (PyTorch's
/// optimizer.param_groups[i]). lr is a field because schedulers set it;
/// the optimizer's other options live in `options` by name ("momentum",
/// "beta1", ...; booleans as 0/1). After the group joins an optimizer every
/// option the optimizer knows is present.
struct ParamGroup {
  std::vector<Tensor> params;
  double lr = kDefaultLr;
  std::map<std::string, double> options;

  ParamGroup() = default;
  /// Not explicit, so that `{params, 1e-3, {{"momentum", 0.5}}}` makes a group.
  ParamGroup(std::vector<Tensor> params, double lr = kDefaultLr,
             std::map<std::string, double> options = {})
      : params(std::move(params)), lr(lr), options(std::move(options)) {}

  /// The value of option `name`; throws nova::Error when the group has none.
  double option(const std::string& name) const;
};

/// What an optimizer keeps per parameter between steps (PyTorch's
/// optimizer.state[p]): the number of steps taken and named buffers
/// ("momentum_buffer", "exp_avg", ...), each shaped like the parameter.
struct ParamState {
  int64_t step = 0;
  std::map<std::string, Tensor> buffers;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Applies one update to every parameter whose .grad is defined (others
  /// are skipped, as in PyTorch); runs with grad mode off.
  virtual void step() = 0;

  /// Clears the gradients of all parameters: sets them to undefined
  /// (set_to_none, the PyTorch default: the next backward allocates fresh
  /// ones) or fills them with zeros in place (keeps the memory, e.g. views
  /// into a FlatParameters grad buffer).
  void zero_grad(bool set_to_none = true);

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }

  /// Adds a group: a missing lr or option takes the optimizer's default;
  /// an unknown option name, a bad value, a parameter already in another
  /// group, a non-leaf or non-floating parameter throws nova::Error.
  void add_param_group(ParamGroup group);

  /// The state of `param` (created empty on first use).
  ParamState& state(const Tensor& param) { return state_[param.impl()]; }
  /// Whether `param` has state yet (it has after its first step).
  bool has_state(const Tensor& param) const { return state_.count(param.impl()) > 0; }

  // ---- state (optim/optimizer_state.cpp) ----
  /// Everything a resumed run needs, keyed by parameter position as in
  /// PyTorch's optimizer.state_dict() (parameters counted across groups in
  /// order, so the file fits any optimizer built the same way):
  ///   state.<i>.step               I64 0-d: steps taken by parameter i
  ///   state.<i>.<buffer>           its buffers ("exp_avg", ...), shaped like it
  ///   param_groups.<g>.params      I64 [n]: the positions in group g
  ///   param_groups.<g>.lr          F64 0-d
  ///   param_groups.<g>.<option>    F64 0-d, one per option ("beta1", ...)
  /// Only parameters that have stepped have state.<i>. Buffers are handles
  /// to the live tensors (as Module::state_dict): save them before the next
  /// step changes them.
  StateDict state_dict() const;
  /// Throws what load_state_dict would throw, changing nothing: a different
  /// number of groups or of parameters per group, a missing or unknown
  /// option, an option out of range, a buffer whose shape or dtype is not
  /// its parameter's, a state without a step, any other key. Messages start
  /// "<name>::load_state_dict: " and name the key.
  void check_state_dict(const StateDict& state) const;
  /// Replaces every group's lr and options and every parameter's state with
  /// those of `state` (copied onto each parameter's device), as PyTorch's
  /// load_state_dict; parameters without state.<i> start fresh. All or
  /// nothing: checks everything first.
  void load_state_dict(const StateDict& state);

  /// "SGD", "Adam", ...: names errors.
  const char* name() const { return name_; }
  /// The optimizer-wide defaults (lr and every option).
  const ParamGroup& defaults() const { return defaults_; }

 protected:
  /// defaults: lr and every option the optimizer knows, by name. Derived
  /// constructors then add their groups with add_param_group (which can call
  /// the derived check_options; the base constructor could not).
  Optimizer(const char* name, ParamGroup defaults);
  /// Throws nova::Error naming the optimizer and the value when a group's
  /// hyper-parameters are out of range.
  virtual void check_options(const ParamGroup& group) const = 0;
  /// The gradient of param in the contiguous layout the step ops read
  /// (the same tensor when it already is, a copy otherwise).
  static Tensor contiguous_grad(const Tensor& param);
  /// A state buffer, made on first use as `value` everywhere, shaped like param.
  Tensor& buffer(ParamState& state, const char* name, const Tensor& param, double value = 0.0);

 private:
  const char* name_;
  ParamGroup defaults_;
  std::vector<ParamGroup> groups_;
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

/// The state check of an optimizer that wraps another (AdaptiveWeighting,
/// SelfCorrecting): its "inner.*" entries pass inner.check_state_dict, and
/// it has no key outside `own_keys` and "inner.*". Throws nova::Error
/// starting "<op>: " otherwise.
void check_wrapper_state(const StateDict& state, std::vector<std::string> own_keys, const Optimizer& inner,
                         const char* op);

/// loss.backward() restricted to `params`: sets each parameter's .grad to
/// d loss / d param (replacing what was there, not accumulating; undefined
/// for a parameter the loss does not reach) and computes no other leaf's
/// gradient. A GAN's generator step backpropagates through the
/// discriminator, whose weight gradients a plain backward would compute and
/// add to D's .grad for nothing. Frees the graph, as backward does.
void backward_into(const Tensor& loss, const std::vector<Tensor>& params);

// ---- SGD ----

/// Stochastic gradient descent with momentum (PyTorch's torch.optim.SGD).
/// Fields in PyTorch's argument order, so `SGDOptions{0.1, 0.9}` reads as
/// SGD(params, lr=0.1, momentum=0.9). lr has no default: it must be given.
struct SGDOptions {
  double lr = kDefaultLr;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, SGDOptions options);
  SGD(std::vector<ParamGroup> groups, SGDOptions defaults);
  void step() override;

 protected:
  void check_options(const ParamGroup& group) const override;
};

// ---- Adam and AdamW ----

/// Adam (torch.optim.Adam): weight_decay is an L2 term added to the gradient.
struct AdamOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
};

/// AdamW (torch.optim.AdamW): decoupled weight decay, default 1e-2.
struct AdamWOptions {
  double lr = 1e-3;
  std::pair<double, double> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, AdamOptions options = {});
  Adam(std::vector<ParamGroup> groups, AdamOptions defaults = {});
  void step() override;

 protected:
  Adam(const char* name, const ParamGroup& defaults, bool decoupled);
  void check_options(const ParamGroup& group) const override;

 private:
  bool decoupled_ = false;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults = {});
};

// ---- RMSprop ----

/// RMSprop (torch.optim.RMSprop).
struct RMSpropOptions {
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double momentum = 0.0;
  bool centered = false;
};

class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, RMSpropOptions options = {});
  RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults = {});
  void step() override;

 protected:
  void check_options(const ParamGroup& group) const override;
};

// ---- Adagrad ----

/// Adagrad (torch.optim.Adagrad).
struct AdagradOptions {
  double lr = 1e-2;
  double lr_decay = 0.0;
  double weight_decay = 0.0;
  double initial_accumulator_value = 0.0;
  double eps = 1e-10;
};

class Adagrad : public Optimizer {
 public:
  Adagrad(std::vector<Tensor> params, AdagradOptions options = {});
  Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults = {});
  void step() override;

 protected:
  void check_options(const ParamGroup& group) const override;
};

}  // namespace nova::optim
