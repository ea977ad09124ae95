// nn/init.h: parameter initializers (torch.nn.init), all writing in place.
//
// Each takes the tensor to fill (a handle: the values of the caller's tensor
// change), runs under NoGradGuard so parameters may be filled directly, and
// returns the same handle. Random ones take an optional Generator (the
// default one when null).
//
// Scales, with fan_in = size(1) * receptive field, fan_out = size(0) *
// receptive field (receptive field = product of dims 2.. for conv kernels):
//   xavier_uniform_   U(-a, a),  a = gain * sqrt(6 / (fan_in + fan_out))
//   xavier_normal_    N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
//   kaiming_uniform_  U(-b, b),  b = gain * sqrt(3 / fan)
//   kaiming_normal_   N(0, s^2), s = gain / sqrt(fan)
// where fan is fan_in or fan_out (mode) and gain = calculate_gain(nonlinearity, a).
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "core/random.h"
#include "core/tensor.h"

namespace nova::nn::init {

/// The recommended gain for a nonlinearity, PyTorch's table:
///   linear, conv*, sigmoid -> 1;  tanh -> 5/3;  relu -> sqrt(2);
///   leaky_relu -> sqrt(2 / (1 + slope^2)) (slope = param, default 0.01);
///   selu -> 3/4.  Any other name throws nova::Error.
double calculate_gain(const std::string& nonlinearity, std::optional<double> param = std::nullopt);

/// (fan_in, fan_out) of a weight with at least 2 dims (see the header comment).
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

/// Fills with U(low, high).
Tensor uniform_(const Tensor& t, double low = 0.0, double high = 1.0, Generator* gen = nullptr);
/// Fills with N(mean, std^2).
Tensor normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* gen = nullptr);
Tensor constant_(const Tensor& t, double value);
Tensor zeros_(const Tensor& t);
Tensor ones_(const Tensor& t);
/// The identity in a 2-D tensor (ones on the diagonal of a rectangle too).
Tensor eye_(const Tensor& t);

Tensor xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);
Tensor xavier_normal_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);
/// `a` is the negative slope of the leaky_relu that follows (0 for relu);
/// mode "fan_in" keeps the forward variance, "fan_out" the backward one.
Tensor kaiming_uniform_(const Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);
Tensor kaiming_normal_(const Tensor& t, double a = 0.0, const std::string& mode = "fan_in",
                       const std::string& nonlinearity = "leaky_relu", Generator* gen = nullptr);

/// A (semi-)orthogonal matrix times gain: t viewed as [rows, cols] (cols =
/// product of the other dims) gets orthonormal rows when rows <= cols and
/// orthonormal columns otherwise. Made as PyTorch does: Q of the QR
/// decomposition of a normal matrix, columns signed by diag(R) so that Q is
/// uniformly (Haar) distributed.
Tensor orthogonal_(const Tensor& t, double gain = 1.0, Generator* gen = nullptr);

}  // namespace nova::nn::init
