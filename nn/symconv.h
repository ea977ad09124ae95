// nn/symconv.h: SCNN's layers (thesis 4.1.3), the modules that own the
// parameters of ops::sym_generating_conv2d and ops::sym_preserving_conv2d
// (core/symconv.h), and the batch norm that goes between them.
//
//   SymmetryGeneratingConv2d   x [N, L, n] (a sequence of n-vectors)
//                              -> packed [N, F, L'(L'+1)/2]
//       weight S [C(C+1)/2, n, F] (4.4): C(C+1) n F / 2 parameters where a
//       full kernel on the self-Cartesian product has C^2 2n F
//   SymmetryPreservingConv2d   packed [N, m, L(L+1)/2] -> packed [N, F, ..]
//       weight R [C(C+1)/2, m, F] (4.10): C(C+1) m F / 2 instead of C^2 m F
//   SymmetricBatchNorm         packed [N, C, T] -> packed, exactly
//       BatchNorm2d on the unpacked symmetric map
//
// Both convolutions take a bias [F] (as nn.Conv2d, which CosRec's layers
// are). Stride 1, zero padding (default 0, as the authors' code).
//
// Initialisation, "half-Glorot" (4.1.3.3: each parameter fills two taps of
// the full kernel, so half the usual scale): weight ~ N(0, std^2) with
// std = 1 / sqrt(2 (C_in + C_out)), half of Glorot's sqrt(2 / (C_in +
// C_out)), where C_in is the full kernel's input channels (2n for the
// generating layer, m for the preserving one) and C_out = F. Fans are channel
// counts, without the kernel area, as the authors' code computes them
// (THESIS-NOTES.md); for SCosRec's 1x1 layers the two readings agree. bias ~
// U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C_in C^2, nn.Conv2d's.
#pragma once

#include "nn/module.h"
#include "nn/normalization.h"

namespace nova::nn {

class SymmetryGeneratingConv2d : public Module {
 public:
  /// features n of the sequence's vectors, out_channels F, kernel side C.
  SymmetryGeneratingConv2d(int64_t features, int64_t out_channels, int64_t kernel_size, int64_t padding = 0,
                           bool bias = true);
  /// x [N, L, n] -> packed [N, F, L'(L'+1)/2], L' = L + 2 padding - C + 1
  Tensor forward(const Tensor& x) override;
  /// The full kernel W(S) [F, 2n, C, C] that conv2d on the self-Cartesian
  /// product would use (differentiable in weight).
  Tensor full_weight() const;
  std::string extra_repr() const override;

  int64_t features, out_channels, kernel_size, padding;
  Tensor weight;  // S [C(C+1)/2, n, F]
  Tensor bias;    // [F], undefined when built with bias = false
};

class SymmetryPreservingConv2d : public Module {
 public:
  SymmetryPreservingConv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t padding = 0,
                           bool bias = true);
  /// packed [N, m, L(L+1)/2] -> packed [N, F, L'(L'+1)/2]
  Tensor forward(const Tensor& x) override;
  /// The full kernel Q(R) [F, m, C, C] (differentiable in weight).
  Tensor full_weight() const;
  std::string extra_repr() const override;

  int64_t in_channels, out_channels, kernel_size, padding;
  Tensor weight;  // R [C(C+1)/2, m, F]
  Tensor bias;
};

/// BatchNorm2d of the symmetric map a packed [N, C, T] stands for: its
/// statistics count an off-diagonal entry twice, as the full L x L map holds
/// it twice. Computed as exactly that (unpack, BatchNorm2d, pack), so a
/// symmetric network's batch norm matches its full-map twin to the last bit;
/// the full map exists only inside this layer. Parameters and buffers as
/// BatchNorm2d's.
class SymmetricBatchNorm : public BatchNorm {
 public:
  explicit SymmetricBatchNorm(int64_t num_features, double eps = 1e-5, std::optional<double> momentum = 0.1,
                              bool affine = true, bool track_running_stats = true)
      : BatchNorm("SymmetricBatchNorm", num_features, eps, momentum, affine, track_running_stats) {}
  /// packed [N, C, L(L+1)/2] -> the same shape
  Tensor forward(const Tensor& x) override;

 protected:
  void check_input(const Tensor& x) const override;  // [N, C, L, L], the unpacked map
};

}  // namespace nova::nn
