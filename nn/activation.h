// nn/activation.h: activation functions as modules, so they can sit in a
// Sequential. Each forwards to the op of the same name in core/elementwise.h;
// only ModReLU has a parameter (its bias b).
#pragma once

#include "nn/module.h"

namespace nova::nn {

/// max(x, 0).
class ReLU : public Module {
 public:
  ReLU() : Module("ReLU") {}
  Tensor forward(const Tensor& x) override;
};

/// x for x > 0, negative_slope * x otherwise.
class LeakyReLU : public Module {
 public:
  explicit LeakyReLU(double negative_slope = 0.01) : Module("LeakyReLU"), negative_slope(negative_slope) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double negative_slope;
};

/// x for x > 0, alpha * (exp(x) - 1) otherwise.
class ELU : public Module {
 public:
  explicit ELU(double alpha = 1.0) : Module("ELU"), alpha(alpha) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double alpha;
};

/// 1 / (1 + exp(-x)).
class Sigmoid : public Module {
 public:
  Sigmoid() : Module("Sigmoid") {}
  Tensor forward(const Tensor& x) override;
};

class Tanh : public Module {
 public:
  Tanh() : Module("Tanh") {}
  Tensor forward(const Tensor& x) override;
};

/// log(1 + exp(beta x)) / beta; x itself where beta x > threshold.
class Softplus : public Module {
 public:
  explicit Softplus(double beta = 1.0, double threshold = 20.0)
      : Module("Softplus"), beta(beta), threshold(threshold) {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double beta, threshold;
};

/// modReLU (thesis eq. 3.55): sign(x) * relu(|x| + b) with a learned bias b
/// per feature (the last dim of x), initialised U(-0.1, 0.1) as in the thesis.
class ModReLU : public Module {
 public:
  explicit ModReLU(int64_t features);
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t features;
  Tensor b;  // [features]
};

}  // namespace nova::nn
