// nn/init.cpp: the initializers of nn/init.h. Each draws its values with a
// nova factory (so a Generator makes them reproducible) and copies them into
// the target with copy_, which handles any layout, dtype and device.
#include "nn/init.h"

#include <cmath>

#include <Eigen/QR>

#include "core/autograd.h"
#include "core/factory.h"

namespace nova::nn::init {

namespace {

/// Writes `values` (any dtype, the target's shape) into t without recording.
Tensor fill_from(const char* op, const Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  Tensor target = t;
  NOVA_CHECK(values.shape() == t.shape(), "{}: internal shape mismatch {} vs {}", op,
             values.shape().str(), t.shape().str());
  target.copy_(values);
  return t;
}

void check_target(const char* op, const Tensor& t) {
  check_defined(op, t, "tensor");
  check_floating(op, t);
}

/// fan_in or fan_out, by mode.
int64_t pick_fan(const char* op, const Tensor& t, const std::string& mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  if (mode == "fan_in") return fan_in;
  if (mode == "fan_out") return fan_out;
  fail("{}: mode must be \"fan_in\" or \"fan_out\", got \"{}\"", op, mode);
}

}  // namespace

double calculate_gain(const std::string& nonlinearity, std::optional<double> param) {
  static const char* const kLinear[] = {"linear",           "conv1d",           "conv2d",
                                        "conv3d",           "conv_transpose1d", "conv_transpose2d",
                                        "conv_transpose3d", "sigmoid"};
  for (const char* name : kLinear)
    if (nonlinearity == name) return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") {
    double slope = param.value_or(0.01);
    return std::sqrt(2.0 / (1.0 + slope * slope));
  }
  // SELU's gain is empirical (PyTorch picked 3/4 to keep activations normalised)
  if (nonlinearity == "selu") return 0.75;
  fail("calculate_gain: unknown nonlinearity \"{}\" (expected linear, conv1d/2d/3d, "
       "conv_transpose1d/2d/3d, sigmoid, tanh, relu, leaky_relu or selu)", nonlinearity);
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  check_defined("calculate_fan_in_and_fan_out", t, "tensor");
  NOVA_CHECK(t.dim() >= 2, "calculate_fan_in_and_fan_out: expected a tensor with at least 2 dims, "
             "got shape {}", t.shape().str());
  // a conv weight [out, in, k...]: each output sees in * prod(k) inputs
  int64_t receptive_field = 1;
  for (int d = 2; d < t.dim(); ++d) receptive_field *= t.size(d);
  return {t.size(1) * receptive_field, t.size(0) * receptive_field};
}

Tensor uniform_(const Tensor& t, double low, double high, Generator* gen) {
  check_target("uniform_", t);
  NOVA_CHECK(low <= high, "uniform_: expected low <= high, got [{}, {})", low, high);
  return fill_from("uniform_", t, uniform(t.shape(), low, high, t.dtype(), t.device(), gen));
}

Tensor normal_(const Tensor& t, double mean, double std, Generator* gen) {
  check_target("normal_", t);
  NOVA_CHECK(std >= 0, "normal_: expected std >= 0, got {}", std);
  return fill_from("normal_", t, normal(t.shape(), mean, std, t.dtype(), t.device(), gen));
}

Tensor constant_(const Tensor& t, double value) {
  check_defined("constant_", t, "tensor");
  NoGradGuard no_grad;
  Tensor target = t;
  target.fill_(value);
  return t;
}

Tensor zeros_(const Tensor& t) { return constant_(t, 0.0); }
Tensor ones_(const Tensor& t) { return constant_(t, 1.0); }

Tensor eye_(const Tensor& t) {
  check_defined("eye_", t, "tensor");
  NOVA_CHECK(t.dim() == 2, "eye_: expected a 2-D tensor, got shape {}", t.shape().str());
  return fill_from("eye_", t, eye(t.size(0), t.size(1), t.dtype(), t.device()));
}

Tensor xavier_uniform_(const Tensor& t, double gain, Generator* gen) {
  check_target("xavier_uniform_", t);
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  // variance of U(-a, a) is a^2 / 3; Glorot wants gain^2 * 2 / (fan_in + fan_out)
  double a = gain * std::sqrt(6.0 / double(fan_in + fan_out));
  return uniform_(t, -a, a, gen);
}

Tensor xavier_normal_(const Tensor& t, double gain, Generator* gen) {
  check_target("xavier_normal_", t);
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / double(fan_in + fan_out)), gen);
}

Tensor kaiming_uniform_(const Tensor& t, double a, const std::string& mode,
                        const std::string& nonlinearity, Generator* gen) {
  check_target("kaiming_uniform_", t);
  int64_t fan = pick_fan("kaiming_uniform_", t, mode);
  NOVA_CHECK(fan > 0, "kaiming_uniform_: {} is 0 for shape {}", mode, t.shape().str());
  double std = calculate_gain(nonlinearity, a) / std::sqrt(double(fan));
  double bound = std::sqrt(3.0) * std;  // U(-b, b) has std b / sqrt(3)
  return uniform_(t, -bound, bound, gen);
}

Tensor kaiming_normal_(const Tensor& t, double a, const std::string& mode,
                       const std::string& nonlinearity, Generator* gen) {
  check_target("kaiming_normal_", t);
  int64_t fan = pick_fan("kaiming_normal_", t, mode);
  NOVA_CHECK(fan > 0, "kaiming_normal_: {} is 0 for shape {}", mode, t.shape().str());
  return normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(double(fan)), gen);
}

Tensor orthogonal_(const Tensor& t, double gain, Generator* gen) {
  check_target("orthogonal_", t);
  NOVA_CHECK(t.dim() >= 2, "orthogonal_: expected a tensor with at least 2 dims, got shape {}",
             t.shape().str());
  const int64_t rows = t.size(0);
  const int64_t cols = t.numel() / rows;
  if (t.numel() == 0) return t;

  // QR needs a tall matrix (m >= n): factor the transpose of a wide one.
  const bool wide = rows < cols;
  const int64_t m = wide ? cols : rows, n = wide ? rows : cols;
  Tensor draw = randn({m, n}, kFloat64, kCPU, gen);
  using Matrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const Matrix> a(draw.data<double>(), m, n);
  Eigen::HouseholderQR<Matrix> qr(a);
  Matrix q = qr.householderQ() * Matrix::Identity(m, n);  // thin Q, m x n
  // Householder QR fixes Q only up to the sign of each column; multiplying by
  // sign(diag(R)) makes R's diagonal positive, which makes Q Haar-uniform.
  Matrix r = qr.matrixQR().topRows(n).template triangularView<Eigen::Upper>();
  for (int64_t j = 0; j < n; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  q *= gain;

  Matrix w = wide ? Matrix(q.transpose()) : q;  // rows x cols
  std::vector<double> values(w.data(), w.data() + w.size());
  return fill_from("orthogonal_", t, from_vector(values, t.shape(), t.dtype(), t.device()));
}

}  // namespace nova::nn::init
