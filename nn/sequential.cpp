// nn/sequential.cpp: Sequential (see sequential.h).
#include "nn/sequential.h"

namespace nova::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) : Module("Sequential") {
  for (const auto& m : modules) push_back(m);
}

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
  NOVA_CHECK(i < size(), "Sequential: index {} out of range for {} modules", i, size());
  return named_children()[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (const auto& item : named_children()) y = item.second->forward(y);
  return y;
}

}  // namespace nova::nn
