// nn/sequential.h: Sequential, a chain of single-input modules applied in
// order. Its children are named "0", "1", ..., so parameters read "0.weight".
#pragma once

#include <initializer_list>
#include <memory>

#include "nn/module.h"

namespace nova::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  /// Sequential({std::make_shared<Linear>(4, 8), std::make_shared<Tanh>()}).
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// std::make_shared<Sequential>(std::make_shared<Linear>(4, 8), std::make_shared<Tanh>()).
  template <typename M, typename... Ms>
  explicit Sequential(std::shared_ptr<M> first, std::shared_ptr<Ms>... rest) : Module("Sequential") {
    push_back(std::move(first));
    (push_back(std::move(rest)), ...);
  }

  /// Appends a module (named by its position) and returns it.
  template <typename M>
  std::shared_ptr<M> push_back(std::shared_ptr<M> module) {
    return register_module(std::to_string(size()), std::move(module));
  }

  size_t size() const { return named_children().size(); }
  /// The i-th module; throws nova::Error when out of range.
  std::shared_ptr<Module> operator[](size_t i) const;
  /// The i-th module as an M; throws nova::Error when it is not one.
  template <typename M>
  std::shared_ptr<M> at(size_t i) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[i]);
    NOVA_CHECK(m != nullptr, "Sequential: module {} is a {}, not the type asked for", i,
               (*this)[i]->name());
    return m;
  }

  /// Feeds x through every module in order.
  Tensor forward(const Tensor& x) override;
};

}  // namespace nova::nn
