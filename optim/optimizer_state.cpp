// optim/optimizer_state.cpp: Optimizer::state_dict and load_state_dict, the
// optimizer's part of a checkpoint (layout in optimizer.h). Parameters are
// named by position, not by tensor, because a resumed run builds new
// tensors: the i-th parameter of the new optimizer takes the i-th state.
#include "optim/optimizer.h"

#include <cstdlib>
#include <set>

#include "core/autograd.h"
#include "core/factory.h"

namespace nova::optim {

namespace {

/// "state.12.exp_avg" -> index 12, name "exp_avg" when key starts with
/// `head` ("state.") and a decimal index; false otherwise.
bool split_indexed_key(const std::string& key, const std::string& head, size_t* index, std::string* name) {
  if (key.compare(0, head.size(), head) != 0) return false;
  const size_t dot = key.find('.', head.size());
  if (dot == std::string::npos || dot == head.size() || dot + 1 == key.size()) return false;
  const std::string digits = key.substr(head.size(), dot - head.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) return false;
  *index = size_t(std::strtoull(digits.c_str(), nullptr, 10));
  *name = key.substr(dot + 1);
  return true;
}

std::string group_key(size_t g, const std::string& name) { return fmt::format("param_groups.{}.{}", g, name); }

}  // namespace

StateDict Optimizer::state_dict() const {
  StateDict out;
  size_t i = 0;
  for (const auto& group : groups_)
    for (const auto& p : group.params) {
      auto it = state_.find(p.impl());
      if (it != state_.end()) {
        out.insert(fmt::format("state.{}.step", i), int64_scalar(it->second.step));
        for (const auto& [name, buffer] : it->second.buffers)
          out.insert(fmt::format("state.{}.{}", i, name), buffer.detach());
      }
      ++i;
    }
  i = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    std::vector<int64_t> positions;
    for (size_t j = 0; j < groups_[g].params.size(); ++j) positions.push_back(int64_t(i++));
    out.insert(group_key(g, "params"), from_vector(positions));
    out.insert(group_key(g, "lr"), float64_scalar(groups_[g].lr));
    for (const auto& [name, value] : groups_[g].options) out.insert(group_key(g, name), float64_scalar(value));
  }
  return out;
}

void Optimizer::check_state_dict(const StateDict& state) const {
  const std::string op = fmt::format("{}::load_state_dict", name_);
  std::vector<const Tensor*> params;
  for (const auto& group : groups_)
    for (const auto& p : group.params) params.push_back(&p);

  // groups: the same count, the same positions, the same option names, and
  // values this optimizer accepts
  size_t first = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& own = groups_[g];
    const int64_t n = int64_t(own.params.size());
    NOVA_CHECK(state.contains(group_key(g, "params")),
               "{}: the state has fewer param groups than this optimizer ({}): no '{}'", op, groups_.size(),
               group_key(g, "params"));
    std::vector<int64_t> positions = read_int64_vector(state, group_key(g, "params"), n, op.c_str());
    for (int64_t j = 0; j < n; ++j)
      NOVA_CHECK(positions[size_t(j)] == int64_t(first) + j,
                 "{}: '{}' lists parameter {} at place {}; this optimizer has parameter {} there", op,
                 group_key(g, "params"), positions[size_t(j)], j, int64_t(first) + j);
    first += size_t(n);
    ParamGroup candidate{{}, read_float64(state, group_key(g, "lr"), op.c_str()), {}};
    for (const auto& [name, value] : own.options) {
      (void)value;
      candidate.options[name] = read_float64(state, group_key(g, name), op.c_str());
    }
    try {
      check_options(candidate);
    } catch (const Error& e) {
      fail("{}: param group {} of the state: {}", op, g, e.what());
    }
  }

  // every key is one of the above or a state.<i>.<name> of a parameter
  std::set<size_t> with_step, with_state;
  for (const auto& [key, value] : state) {
    size_t index = 0;
    std::string name;
    if (split_indexed_key(key, "param_groups.", &index, &name)) {
      NOVA_CHECK(index < groups_.size(), "{}: '{}': the state has more param groups than this optimizer ({})",
                 op, key, groups_.size());
      NOVA_CHECK(name == "params" || name == "lr" || groups_[index].options.count(name),
                 "{}: '{}': {} has no option '{}'", op, key, name_, name);
      continue;
    }
    NOVA_CHECK(split_indexed_key(key, "state.", &index, &name), "{}: unexpected key '{}'", op, key);
    NOVA_CHECK(index < params.size(), "{}: '{}': the state has a parameter {}, this optimizer has {} parameters",
               op, key, index, params.size());
    with_state.insert(index);
    if (name == "step") {
      read_int64(state, key, op.c_str());
      with_step.insert(index);
      continue;
    }
    const Tensor& p = *params[index];
    NOVA_CHECK(value.defined() && value.shape() == p.shape() && value.dtype() == p.dtype(),
               "{}: '{}': the state has {}, parameter {} is {} {}", op, key,
               value.defined() ? fmt::format("{} {}", dtype_name(value.dtype()), value.shape().str()) : "undefined",
               index, dtype_name(p.dtype()), p.shape().str());
  }
  for (size_t index : with_state)
    NOVA_CHECK(with_step.count(index), "{}: the state of parameter {} has no 'state.{}.step'", op, index, index);
}

void Optimizer::load_state_dict(const StateDict& state) {
  check_state_dict(state);
  NoGradGuard no_grad;
  // build everything aside, then swap in: nothing below can fail half way
  std::vector<ParamGroup> groups = groups_;
  std::unordered_map<const TensorImpl*, ParamState> fresh;
  size_t i = 0;
  for (size_t g = 0; g < groups.size(); ++g) {
    const char* op = "Optimizer::load_state_dict";
    groups[g].lr = read_float64(state, group_key(g, "lr"), op);
    for (auto& [name, value] : groups[g].options) value = read_float64(state, group_key(g, name), op);
    for (const Tensor& p : groups[g].params) {
      const std::string head = fmt::format("state.{}.", i++);
      if (!state.contains(head + "step")) continue;
      ParamState& st = fresh[p.impl()];
      st.step = read_int64(state, head + "step", op);
      for (const auto& [key, value] : state) {
        if (key.compare(0, head.size(), head) != 0 || key == head + "step") continue;
        Tensor buffer = empty(p.shape(), p.dtype(), p.device());
        buffer.copy_(value);
        st.buffers.emplace(key.substr(head.size()), buffer);
      }
    }
  }
  groups_ = std::move(groups);
  state_ = std::move(fresh);
}

void check_wrapper_state(const StateDict& state, std::vector<std::string> own_keys, const Optimizer& inner,
                         const char* op) {
  const StateDict inner_state = sub_state(state, "inner");
  for (const auto& key : inner_state.keys()) own_keys.push_back("inner." + key);
  check_known_keys(state, own_keys, op);
  try {
    inner.check_state_dict(inner_state);
  } catch (const Error& e) {
    fail("{}: inner optimizer: {}", op, e.what());
  }
}

}  // namespace nova::optim
