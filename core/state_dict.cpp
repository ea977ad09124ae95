// core/state_dict.cpp: StateDict and the exact-number helpers (see state_dict.h).
#include "core/state_dict.h"

#include <fmt/ranges.h>

#include "core/factory.h"

namespace nova {

// ---- StateDict ----

StateDict::StateDict(std::initializer_list<std::pair<std::string, Tensor>> items) {
  for (const auto& [key, value] : items) insert(key, value);
}

void StateDict::insert(const std::string& key, const Tensor& value) {
  NOVA_CHECK(!contains(key), "StateDict: duplicate key '{}'", key);
  index_.emplace(key, items_.size());
  items_.emplace_back(key, value);
}

const Tensor* StateDict::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &items_[it->second].second;
}

const Tensor& StateDict::at(const std::string& key) const {
  const Tensor* t = find(key);
  NOVA_CHECK(t != nullptr, "StateDict: no key '{}'", key);
  return *t;
}

void StateDict::set(const std::string& key, const Tensor& value) {
  auto it = index_.find(key);
  NOVA_CHECK(it != index_.end(), "StateDict: no key '{}'", key);
  items_[it->second].second = value;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& item : items_) out.push_back(item.first);
  return out;
}

// ---- nesting ----

void insert_prefixed(StateDict* out, const std::string& prefix, const StateDict& inner) {
  for (const auto& [key, value] : inner) out->insert(prefix + "." + key, value);
}

StateDict sub_state(const StateDict& state, const std::string& prefix) {
  const std::string head = prefix + ".";
  StateDict out;
  for (const auto& [key, value] : state)
    if (key.compare(0, head.size(), head) == 0) out.insert(key.substr(head.size()), value);
  return out;
}

// ---- exact numbers ----

Tensor int64_scalar(int64_t value) { return from_vector<int64_t>({value}, Shape()); }

Tensor float64_scalar(double value) { return from_vector<double>({value}, Shape()); }

namespace {

/// state[key], checked to be a defined tensor of `dtype` and `dims` dims.
const Tensor& typed(const StateDict& state, const std::string& key, DType dtype, int64_t dims,
                    const char* op) {
  const Tensor* t = state.find(key);
  NOVA_CHECK(t != nullptr, "{}: missing key '{}'", op, key);
  NOVA_CHECK(t->defined() && t->dtype() == dtype && t->dim() == dims,
             "{}: '{}' must be a {}-d {} tensor, got {}", op, key, dims, dtype_name(dtype),
             t->defined() ? fmt::format("{} {}", dtype_name(t->dtype()), t->shape().str()) : "undefined");
  return *t;
}

template <typename T>
std::vector<T> read_vector(const StateDict& state, const std::string& key, int64_t size, DType dtype,
                           const char* op) {
  const Tensor& t = typed(state, key, dtype, 1, op);
  NOVA_CHECK(t.size(0) == size, "{}: '{}' must have {} values, got {}", op, key, size, t.shape().str());
  return t.template to_vector<T>();
}

}  // namespace

int64_t read_int64(const StateDict& state, const std::string& key, const char* op) {
  return typed(state, key, kInt64, 0, op).to_vector<int64_t>()[0];
}

double read_float64(const StateDict& state, const std::string& key, const char* op) {
  return typed(state, key, kFloat64, 0, op).to_vector<double>()[0];
}

std::vector<double> read_float64_vector(const StateDict& state, const std::string& key, int64_t size,
                                        const char* op) {
  return read_vector<double>(state, key, size, kFloat64, op);
}

std::vector<int64_t> read_int64_vector(const StateDict& state, const std::string& key, int64_t size,
                                       const char* op) {
  return read_vector<int64_t>(state, key, size, kInt64, op);
}

void check_known_keys(const StateDict& state, const std::vector<std::string>& known, const char* op) {
  std::vector<std::string> unexpected;
  for (const auto& [key, value] : state) {
    (void)value;
    bool found = false;
    for (const auto& k : known) found = found || k == key;
    if (!found) unexpected.push_back("'" + key + "'");
  }
  NOVA_CHECK(unexpected.empty(), "{}: unexpected keys {}", op, fmt::join(unexpected, ", "));
}

}  // namespace nova
