// nn/module.cpp: Module's registration, tree walks, modes, in-place
// conversion and state_dict loading (see module.h).
#include "nn/module.h"

#include <sstream>

#include <fmt/ranges.h>

#include "core/autograd.h"
#include "core/views.h"

namespace nova::nn {

// ---- Module: registration ----

Module::Module(std::string name) : name_(std::move(name)) {}

Tensor Module::forward(const Tensor&) {
  fail("{}: forward(x) is not defined for this module; it has no single-input forward", name_);
}

void Module::check_new_name(const char* what, const std::string& name) const {
  NOVA_CHECK(!name.empty(), "{}: {} name must not be empty", name_, what);
  // a dot would make "a.b" ambiguous between a child "a" and a tensor "a.b"
  NOVA_CHECK(name.find('.') == std::string::npos, "{}: {} name '{}' must not contain '.'", name_,
             what, name);
  auto taken = [&](const auto& list) {
    for (const auto& item : list)
      if (item.first == name) return true;
    return false;
  };
  NOVA_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_),
             "{}: {} name '{}' is already registered", name_, what, name);
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name("parameter", name);
  check_defined("register_parameter", tensor, "parameter");
  // a parameter is a leaf: the optimizer updates it, nothing upstream owns it
  if (!tensor.is_leaf()) tensor = tensor.detach();
  if (tensor.is_floating_point()) tensor.requires_grad_(requires_grad);
  else NOVA_CHECK(!requires_grad, "{}: parameter '{}' is {} and cannot require gradients", name_,
                  name, dtype_name(tensor.dtype()));
  params_.emplace_back(name, tensor);
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name("buffer", name);
  check_defined("register_buffer", tensor, "buffer");
  if (!tensor.is_leaf() || tensor.requires_grad()) tensor = tensor.detach();
  buffers_.emplace_back(name, tensor);
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> module) {
  check_new_name("submodule", name);
  NOVA_CHECK(module != nullptr, "{}: submodule '{}' is null", name_, name);
  NOVA_CHECK(module.get() != this, "{}: a module cannot be its own submodule", name_);
  children_.emplace_back(name, std::move(module));
}

// ---- Module: walking the tree ----

void Module::collect(const std::string& prefix, bool recurse, bool params, bool bufs,
                     NamedTensors* out) const {
  if (params)
    for (const auto& [name, t] : params_) out->emplace_back(prefix + name, t);
  if (bufs)
    for (const auto& [name, t] : buffers_) out->emplace_back(prefix + name, t);
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(prefix + name + ".", true, params, bufs, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", recurse, true, false, &out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& item : named_parameters(recurse)) out.push_back(std::move(item.second));
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", recurse, false, true, &out);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& item : named_buffers(recurse)) out.push_back(std::move(item.second));
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& item : children_) out.push_back(item.second);
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& item : children_) item.second->apply(fn);
  fn(*this);
}

std::vector<Tensor> Module::all_tensors() const {
  NamedTensors named;
  collect("", true, true, true, &named);
  std::vector<Tensor> out;
  for (auto& item : named) out.push_back(std::move(item.second));
  return out;
}

// ---- Module: modes and grads ----

void Module::train(bool on) {
  training_ = on;
  for (auto& item : children_) item.second->train(on);
}

void Module::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (const Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      // a grad built with create_graph is part of a graph: cut it loose
      // first (as PyTorch does), then zero its memory
      Tensor cut = g.detach();
      cut.zero_();
      p.set_grad(cut);
    }
  }
}

// ---- Module: in-place conversion ----

namespace {

/// Converts every tensor in `tensors` (and their grads) with `convert`, all
/// before adopting any, so that a failure (no CUDA kernel, out of memory)
/// leaves the module unchanged rather than half-converted.
template <typename Convert>
void convert_all(const std::vector<Tensor>& tensors, Convert convert) {
  NoGradGuard no_grad;
  std::vector<Tensor> data(tensors.size()), grads(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    data[i] = convert(tensors[i].detach()).contiguous();
    Tensor g = tensors[i].grad();
    if (g.defined()) grads[i] = convert(g.detach()).contiguous();
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    // every handle to the tensor sees the new device/dtype; requires_grad stays
    tensors[i].set_data(data[i]);
    if (grads[i].defined()) tensors[i].set_grad(grads[i]);
  }
}

}  // namespace

void Module::to(Device device) {
  std::vector<Tensor> todo;
  for (const Tensor& t : all_tensors())
    if (t.device() != device) todo.push_back(t);
  convert_all(todo, [&](const Tensor& x) { return x.to(device); });
}

void Module::to(DType dtype) {
  NOVA_CHECK(is_floating(dtype), "{}: to({}): modules convert to floating dtypes only", name_,
             dtype_name(dtype));
  std::vector<Tensor> todo;
  for (const Tensor& t : all_tensors())
    if (t.is_floating_point() && t.dtype() != dtype) todo.push_back(t);
  convert_all(todo, [&](const Tensor& x) { return x.to(dtype); });
}

// ---- Module: state ----

void Module::collect_state(const std::string& prefix, StateDict* out) const {
  for (const auto& [name, t] : params_) out->insert(prefix + name, t.detach());
  for (const auto& [name, t] : buffers_) out->insert(prefix + name, t.detach());
  for (const auto& [name, child] : children_) child->collect_state(prefix + name + ".", out);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect_state("", &out);
  return out;
}

void Module::check_state_dict(const StateDict& state, bool strict) const {
  const StateDict own = state_dict();
  std::vector<std::string> problems, missing, unexpected;
  for (const auto& [key, dst] : own) {
    const Tensor* src = state.find(key);
    if (src == nullptr) {
      missing.push_back("'" + key + "'");
      continue;
    }
    if (!src->defined()) {
      problems.push_back(fmt::format("'{}': the state's tensor is undefined", key));
    } else if (src->shape() != dst.shape()) {
      problems.push_back(fmt::format("'{}': shape mismatch: the state has {}, this module has {}",
                                     key, src->shape().str(), dst.shape().str()));
    } else if (src->dtype() != dst.dtype()) {
      problems.push_back(fmt::format("'{}': dtype mismatch: the state has {} {}, this module has "
                                     "{} {} (convert one with to(dtype))",
                                     key, dtype_name(src->dtype()), src->shape().str(),
                                     dtype_name(dst.dtype()), dst.shape().str()));
    }
  }
  if (strict) {
    for (const auto& item : state)
      if (!own.contains(item.first)) unexpected.push_back("'" + item.first + "'");
    if (!missing.empty())
      problems.push_back(fmt::format("missing keys {}", fmt::join(missing, ", ")));
    if (!unexpected.empty())
      problems.push_back(fmt::format("unexpected keys {}", fmt::join(unexpected, ", ")));
  }
  NOVA_CHECK(problems.empty(), "load_state_dict: {} not loaded: {}{}", name_,
             fmt::join(problems, "; "),
             strict && (!missing.empty() || !unexpected.empty())
                 ? " (pass strict=false to load the keys that match)" : "");
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  // every problem first; nothing is copied unless there are none
  check_state_dict(state, strict);
  // `own` holds detached handles that share the live memory
  const StateDict own = state_dict();
  NoGradGuard no_grad;
  for (const auto& [key, dst] : own) {
    const Tensor* src = state.find(key);
    if (src == nullptr) continue;
    Tensor target = dst;
    target.copy_(*src);
  }
}

// ---- Module: printing ----

std::string Module::str() const {
  std::string out = name_ + "(";
  std::string extra = extra_repr();
  if (children_.empty()) return out + extra + ")";
  // children: one per line, their own lines indented by two spaces
  out += "\n";
  if (!extra.empty()) out += "  " + extra + "\n";
  for (const auto& [name, child] : children_) {
    std::string body = child->str();
    std::string indented;
    for (char c : body) {
      indented += c;
      if (c == '\n') indented += "  ";
    }
    out += "  (" + name + "): " + indented + "\n";
  }
  return out + ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return os << m.str(); }

}  // namespace nova::nn
