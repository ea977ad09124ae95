// core/state_dict.h: StateDict, the ordered name -> tensor list a checkpoint
// holds, and the helpers every stateful object uses to put its numbers in
// one: integers as I64 0-d tensors (bit for bit, which a double is not past
// 2^53), reals as F64, and prefixes to nest one object's state in another's.
//
// Why core/ and not nn/: modules (nn/) and optimizers, schedulers and the
// thesis optimizers (optim/) all save their state as a StateDict, and nn/
// and optim/ do not see each other; the Generator (core/) does too.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace nova {

/// (name, tensor) pairs in a fixed order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// An ordered map from dotted names to tensors: what state_dict() returns,
/// load_state_dict() consumes and a checkpoint file stores. Iterates in
/// insertion order; names are unique.
class StateDict {
 public:
  StateDict() = default;
  /// Builds from pairs; throws nova::Error on a duplicate name.
  StateDict(std::initializer_list<std::pair<std::string, Tensor>> items);

  /// Appends key -> value; throws nova::Error when key is already present.
  void insert(const std::string& key, const Tensor& value);
  bool contains(const std::string& key) const { return index_.count(key) != 0; }
  /// The tensor stored under key, or nullptr.
  const Tensor* find(const std::string& key) const;
  /// The tensor stored under key; throws nova::Error naming the key if absent.
  const Tensor& at(const std::string& key) const;
  /// Replaces the value of an existing key (throws if absent).
  void set(const std::string& key, const Tensor& value);

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  std::vector<std::string> keys() const;
  const NamedTensors& items() const { return items_; }
  NamedTensors::const_iterator begin() const { return items_.begin(); }
  NamedTensors::const_iterator end() const { return items_.end(); }

 private:
  NamedTensors items_;
  std::unordered_map<std::string, size_t> index_;
};

// ---- nesting: one object's state inside another's ----

/// Inserts every entry of `inner` into `*out` as prefix + "." + key
/// (throws on a duplicate, as insert does).
void insert_prefixed(StateDict* out, const std::string& prefix, const StateDict& inner);

/// The entries of `state` whose key starts with prefix + ".", with that
/// part removed, in order: the inverse of insert_prefixed.
StateDict sub_state(const StateDict& state, const std::string& prefix);

// ---- exact numbers ----

/// An I64 0-d CPU tensor holding `value`. A uint64_t (a seed, a Philox
/// offset) is stored bit-cast: int64_t(value), read back with uint64_t(...).
Tensor int64_scalar(int64_t value);
/// An F64 0-d CPU tensor holding `value` (learning rates, best metrics).
Tensor float64_scalar(double value);

/// state[key] as an I64 0-d tensor's value. Throws nova::Error starting
/// "<op>: " naming the key when it is missing, not I64 or not 0-d.
int64_t read_int64(const StateDict& state, const std::string& key, const char* op);
/// state[key] as an F64 0-d tensor's value; errors as read_int64.
double read_float64(const StateDict& state, const std::string& key, const char* op);
/// state[key] as a 1-D F64 (I64) tensor of `size` elements, copied out;
/// errors as read_int64, naming the shape that came.
std::vector<double> read_float64_vector(const StateDict& state, const std::string& key, int64_t size,
                                        const char* op);
std::vector<int64_t> read_int64_vector(const StateDict& state, const std::string& key, int64_t size,
                                       const char* op);

/// Throws nova::Error "<op>: unexpected keys 'a', 'b'" when `state` has a key
/// not in `known`: a file of another kind (or a newer version) is refused
/// rather than half read.
void check_known_keys(const StateDict& state, const std::vector<std::string>& known, const char* op);

}  // namespace nova
