// optim/flat_parameters.h: FlatParameters, all parameters (and their grads)
// in one contiguous buffer each; and the flat-vector helpers a trainer needs
// next to it (flat_grad, angle_between): a gradient over a parameter list as
// one vector in the same order, and the angle between two such vectors.
//
// After flattening, parameter i is a view of data()[offsets()[i] ...
// offsets()[i] + numel_i) and its .grad a view of the same range of grad().
// Backward adds into an existing .grad in place (core/autograd.cpp), so the
// gradients of a whole network land in grad() without a copy; an optimizer
// step over data() is one fused kernel, and a dot product of two gradient
// vectors (the adaptive-weighting optimizer) is one pass over memory.
//
//   FlatParameters flat(model.parameters());
//   optim::Adam opt({flat.data()});          // one fused step for all
//   for (...) { flat.zero_grad(); loss().backward(); opt.step(); }
//
// The views survive only as long as nothing replaces the .grad tensors:
// zero the grads with flat.zero_grad() (or optimizer.zero_grad(false)), not
// with optimizer.zero_grad()'s default set_to_none, and note that a
// create_graph backward builds new .grad tensors (as in PyTorch).
// flat.zero_grad() re-attaches any view that was replaced.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace nova::optim {

class FlatParameters {
 public:
  /// Copies the values of `params` (leaves of one floating dtype on one
  /// device; nova::Error otherwise) into one buffer and rebinds each
  /// parameter to its range of it (same TensorImpl, so every handle to the
  /// parameter sees the move; views made from a parameter before this point
  /// still show the old memory). Each .grad becomes a zeroed view of grad().
  explicit FlatParameters(std::vector<Tensor> params);

  /// All parameter values, 1-D [numel()]; a leaf with requires_grad whose
  /// .grad is grad(), so that an optimizer can step it as one parameter.
  const Tensor& data() const { return data_; }
  /// All gradients, 1-D [numel()].
  const Tensor& grad() const { return grad_; }
  int64_t numel() const { return data_.numel(); }
  /// Where each parameter starts in data() and grad().
  const std::vector<int64_t>& offsets() const { return offsets_; }
  const std::vector<Tensor>& params() const { return params_; }

  /// Fills grad() with zeros and makes every parameter's .grad (and data()'s)
  /// its view of grad() again; never sets them to none.
  void zero_grad();

 private:
  std::vector<Tensor> params_;
  std::vector<Tensor> grad_views_;  // params_[i]'s range of grad_
  std::vector<int64_t> offsets_;
  Tensor data_;
  Tensor grad_;
};

/// The gradient of `loss` (a scalar) over `params` as one flat 1-D vector, in
/// params' order (the layout of FlatParameters and of grad_split's vectors).
/// A parameter the loss does not reach gets zeros: e.g. the last bias of a
/// critic in a gradient penalty, which depends only on grad_x critic(x).
/// Leaves .grad alone and keeps no graph of the result; frees the loss's
/// graph unless something else retains it (as autograd::grad does).
Tensor flat_grad(const Tensor& loss, const std::vector<Tensor>& params);

/// The angle in degrees between two flat vectors of one length, as
/// AdaptiveWeighting reports its angles (optim::angle_degrees: 90 when either
/// is zero). Runs without recording a graph.
double angle_between(const Tensor& a, const Tensor& b);

}  // namespace nova::optim
