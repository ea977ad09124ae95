// optim/optimizer.cpp: the Optimizer base (groups, state, zero_grad) and the
// classic optimizers. Each step() reads its group's options, makes the
// parameter's state buffers on first use, and calls one fused op of
// core/optim.h per parameter.
#include "optim/optimizer.h"

#include <set>

#include "core/autograd.h"
#include "core/factory.h"
#include "core/optim.h"

namespace nova::optim {

// ---- ParamGroup, Optimizer ----

double ParamGroup::option(const std::string& name) const {
  auto it = options.find(name);
  NOVA_CHECK(it != options.end(), "ParamGroup: no option '{}' in this group", name);
  return it->second;
}

Optimizer::Optimizer(const char* name, ParamGroup defaults)
    : name_(name), defaults_(std::move(defaults)) {}

void Optimizer::add_param_group(ParamGroup group) {
  // every parameter once, across all groups: two updates per step would be a
  // silent bug
  std::set<const TensorImpl*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params) seen.insert(p.impl());
  for (size_t i = 0; i < group.params.size(); ++i) {
    const Tensor& p = group.params[i];
    NOVA_CHECK(p.defined(), "{}: parameter {} of the new group is undefined", name_, i);
    NOVA_CHECK(p.is_floating_point(), "{}: can only optimize floating tensors, parameter {} is {} {}",
               name_, i, dtype_name(p.dtype()), p.shape().str());
    NOVA_CHECK(p.is_leaf(), "{}: can't optimize a non-leaf tensor (parameter {}, shape {}); "
               "optimize the leaf it was computed from", name_, i, p.shape().str());
    NOVA_CHECK(seen.insert(p.impl()).second,
               "{}: parameter {} (shape {}) appears in more than one place in the param groups",
               name_, i, p.shape().str());
  }
  if (std::isnan(group.lr)) group.lr = defaults_.lr;
  for (const auto& [key, value] : group.options) {
    (void)value;
    if (defaults_.options.count(key)) continue;
    std::string known;
    for (const auto& [k, v] : defaults_.options) known += (known.empty() ? "" : ", ") + k;
    fail("{}: unknown option '{}' in a param group (known: lr, {})", name_, key, known);
  }
  for (const auto& [key, value] : defaults_.options) group.options.emplace(key, value);
  check_options(group);
  groups_.push_back(std::move(group));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& group : groups_)
    for (auto& p : group.params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      if (set_to_none) {
        p.set_grad(Tensor());
        continue;
      }
      // a grad from a create_graph backward is in a graph: cut it out (same
      // memory) before zeroing it, as PyTorch does
      if (g.requires_grad() || !g.is_leaf()) {
        g = g.detach();
        p.set_grad(g);
      }
      g.zero_();
    }
}

void backward_into(const Tensor& loss, const std::vector<Tensor>& params) {
  check_defined("backward_into", loss, "loss");
  NOVA_CHECK(loss.numel() == 1, "backward_into: loss must be a scalar, got shape {}", loss.shape().str());
  std::vector<Tensor> grads = autograd::grad({loss}, params, {}, false, /*allow_unused=*/true);
  for (size_t i = 0; i < params.size(); ++i) params[i].set_grad(grads[i]);
}

Tensor Optimizer::contiguous_grad(const Tensor& param) {
  Tensor g = param.grad();
  return g.is_contiguous() ? g : g.contiguous();
}

Tensor& Optimizer::buffer(ParamState& state, const char* name, const Tensor& param, double value) {
  auto it = state.buffers.find(name);
  if (it == state.buffers.end())
    it = state.buffers.emplace(name, full(param.shape(), value, param.dtype(), param.device())).first;
  return it->second;
}

namespace {

/// Throws "Opt: invalid <what>: <value> (must be <rule>)" unless ok.
void require(bool ok, const char* optimizer, const char* what, double value, const char* rule) {
  NOVA_CHECK(ok, "{}: invalid {}: {} (must be {})", optimizer, what, value, rule);
}

/// Checks the options every optimizer has; the lr comes first since SGD has
/// no default for it.
void check_lr(const char* optimizer, double lr) {
  NOVA_CHECK(!std::isnan(lr), "{}: lr is required (there is no default learning rate)", optimizer);
  require(lr >= 0, optimizer, "learning rate", lr, ">= 0");
}

/// Runs `update(param)` for every parameter of the group with a gradient.
template <typename Update>
void for_each_param_with_grad(ParamGroup& group, Update update) {
  for (Tensor& p : group.params)
    if (p.grad().defined()) update(p);
}

/// The constructors' loop: adds every group, and refuses an optimizer with
/// nothing to optimize.
template <typename Opt>
void add_groups(Opt& opt, std::vector<ParamGroup>& groups) {
  size_t count = 0;
  for (auto& g : groups) {
    count += g.params.size();
    opt.add_param_group(std::move(g));
  }
  NOVA_CHECK(count > 0, "{}: got an empty parameter list", opt.name());
}

}  // namespace

// ---- SGD ----

namespace {
ParamGroup sgd_defaults(const SGDOptions& o) {
  return {{}, o.lr, {{"momentum", o.momentum}, {"dampening", o.dampening},
                     {"weight_decay", o.weight_decay}, {"nesterov", o.nesterov ? 1.0 : 0.0}}};
}
}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options)
    : SGD(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

SGD::SGD(std::vector<ParamGroup> groups, SGDOptions defaults)
    : Optimizer("SGD", sgd_defaults(defaults)) {
  add_groups(*this, groups);
}

void SGD::check_options(const ParamGroup& g) const {
  check_lr(name(), g.lr);
  const double momentum = g.option("momentum"), dampening = g.option("dampening");
  require(momentum >= 0, name(), "momentum value", momentum, ">= 0");
  require(g.option("weight_decay") >= 0, name(), "weight_decay value", g.option("weight_decay"), ">= 0");
  NOVA_CHECK(g.option("nesterov") == 0 || (momentum > 0 && dampening == 0),
             "SGD: nesterov momentum requires a momentum > 0 and zero dampening, got momentum {} "
             "and dampening {}", momentum, dampening);
}

void SGD::step() {
  NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const double momentum = group.option("momentum"), dampening = group.option("dampening");
    const double weight_decay = group.option("weight_decay");
    const bool nesterov = group.option("nesterov") != 0;
    for_each_param_with_grad(group, [&](Tensor& p) {
      ParamState& st = state(p);
      st.step += 1;
      Tensor momentum_buffer;
      bool first_step = false;
      if (momentum != 0) {
        first_step = st.buffers.count("momentum_buffer") == 0;
        momentum_buffer = buffer(st, "momentum_buffer", p);
      }
      ops::sgd_step(p, contiguous_grad(p), momentum_buffer, group.lr, momentum, dampening,
                    weight_decay, nesterov, first_step);
    });
  }
}

// ---- Adam, AdamW ----

namespace {
template <typename Options>
ParamGroup adam_defaults(const Options& o) {
  return {{}, o.lr, {{"beta1", o.betas.first}, {"beta2", o.betas.second}, {"eps", o.eps},
                     {"weight_decay", o.weight_decay}, {"amsgrad", o.amsgrad ? 1.0 : 0.0}}};
}

}  // namespace

Adam::Adam(const char* name, const ParamGroup& defaults, bool decoupled)
    : Optimizer(name, defaults), decoupled_(decoupled) {}

Adam::Adam(std::vector<Tensor> params, AdamOptions options)
    : Adam(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

Adam::Adam(std::vector<ParamGroup> groups, AdamOptions defaults)
    : Adam("Adam", adam_defaults(defaults), false) {
  add_groups(*this, groups);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions options)
    : AdamW(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions defaults)
    : Adam("AdamW", adam_defaults(defaults), true) {
  add_groups(*this, groups);
}

void Adam::check_options(const ParamGroup& g) const {
  check_lr(name(), g.lr);
  require(g.option("eps") >= 0, name(), "epsilon value", g.option("eps"), ">= 0");
  const double beta1 = g.option("beta1"), beta2 = g.option("beta2");
  require(beta1 >= 0 && beta1 < 1, name(), "beta parameter at index 0", beta1, "in [0, 1)");
  require(beta2 >= 0 && beta2 < 1, name(), "beta parameter at index 1", beta2, "in [0, 1)");
  require(g.option("weight_decay") >= 0, name(), "weight_decay value", g.option("weight_decay"), ">= 0");
}

void Adam::step() {
  NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const double beta1 = group.option("beta1"), beta2 = group.option("beta2");
    const double eps = group.option("eps"), weight_decay = group.option("weight_decay");
    const bool amsgrad = group.option("amsgrad") != 0;
    for_each_param_with_grad(group, [&](Tensor& p) {
      ParamState& st = state(p);
      st.step += 1;
      Tensor exp_avg = buffer(st, "exp_avg", p);
      Tensor exp_avg_sq = buffer(st, "exp_avg_sq", p);
      Tensor max_exp_avg_sq = amsgrad ? buffer(st, "max_exp_avg_sq", p) : Tensor();
      ops::adam_step(p, contiguous_grad(p), exp_avg, exp_avg_sq, max_exp_avg_sq, st.step,
                     group.lr, beta1, beta2, eps, weight_decay, decoupled_, amsgrad);
    });
  }
}

// ---- RMSprop ----

namespace {
ParamGroup rmsprop_defaults(const RMSpropOptions& o) {
  return {{}, o.lr, {{"alpha", o.alpha}, {"eps", o.eps}, {"weight_decay", o.weight_decay},
                     {"momentum", o.momentum}, {"centered", o.centered ? 1.0 : 0.0}}};
}
}  // namespace

RMSprop::RMSprop(std::vector<Tensor> params, RMSpropOptions options)
    : RMSprop(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

RMSprop::RMSprop(std::vector<ParamGroup> groups, RMSpropOptions defaults)
    : Optimizer("RMSprop", rmsprop_defaults(defaults)) {
  add_groups(*this, groups);
}

void RMSprop::check_options(const ParamGroup& g) const {
  check_lr(name(), g.lr);
  require(g.option("eps") >= 0, name(), "epsilon value", g.option("eps"), ">= 0");
  require(g.option("momentum") >= 0, name(), "momentum value", g.option("momentum"), ">= 0");
  require(g.option("weight_decay") >= 0, name(), "weight_decay value", g.option("weight_decay"), ">= 0");
  require(g.option("alpha") >= 0, name(), "alpha value", g.option("alpha"), ">= 0");
}

void RMSprop::step() {
  NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const double alpha = group.option("alpha"), eps = group.option("eps");
    const double weight_decay = group.option("weight_decay"), momentum = group.option("momentum");
    const bool centered = group.option("centered") != 0;
    for_each_param_with_grad(group, [&](Tensor& p) {
      ParamState& st = state(p);
      st.step += 1;
      Tensor square_avg = buffer(st, "square_avg", p);
      Tensor momentum_buffer = momentum > 0 ? buffer(st, "momentum_buffer", p) : Tensor();
      Tensor grad_avg = centered ? buffer(st, "grad_avg", p) : Tensor();
      ops::rmsprop_step(p, contiguous_grad(p), square_avg, momentum_buffer, grad_avg, group.lr,
                        alpha, eps, weight_decay, momentum, centered);
    });
  }
}

// ---- Adagrad ----

namespace {
ParamGroup adagrad_defaults(const AdagradOptions& o) {
  return {{}, o.lr, {{"lr_decay", o.lr_decay}, {"weight_decay", o.weight_decay},
                     {"initial_accumulator_value", o.initial_accumulator_value}, {"eps", o.eps}}};
}
}  // namespace

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options)
    : Adagrad(std::vector<ParamGroup>{ParamGroup{std::move(params)}}, options) {}

Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions defaults)
    : Optimizer("Adagrad", adagrad_defaults(defaults)) {
  add_groups(*this, groups);
}

void Adagrad::check_options(const ParamGroup& g) const {
  check_lr(name(), g.lr);
  require(g.option("lr_decay") >= 0, name(), "lr_decay value", g.option("lr_decay"), ">= 0");
  require(g.option("weight_decay") >= 0, name(), "weight_decay value", g.option("weight_decay"), ">= 0");
  require(g.option("initial_accumulator_value") >= 0, name(), "initial_accumulator_value",
          g.option("initial_accumulator_value"), ">= 0");
  require(g.option("eps") >= 0, name(), "epsilon value", g.option("eps"), ">= 0");
}

void Adagrad::step() {
  NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const double lr_decay = group.option("lr_decay"), weight_decay = group.option("weight_decay");
    const double init = group.option("initial_accumulator_value"), eps = group.option("eps");
    for_each_param_with_grad(group, [&](Tensor& p) {
      ParamState& st = state(p);
      st.step += 1;
      Tensor state_sum = buffer(st, "sum", p, init);
      ops::adagrad_step(p, contiguous_grad(p), state_sum, st.step, group.lr, lr_decay,
                        weight_decay, eps);
    });
  }
}

}  // namespace nova::optim
