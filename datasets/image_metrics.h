// datasets/image_metrics.h: the two sample-quality scores of the image GAN
// tables (thesis Tables 2.1-2.4), computed from a network's outputs:
//
//   FID (Heusel et al. 2017)  Frechet distance between two Gaussians fitted
//     to features of real and generated images:
//       ||mu_1 - mu_2||^2 + tr(S_1) + tr(S_2) - 2 tr((S_1^1/2 S_2 S_1^1/2)^1/2)
//     The last term equals tr((S_1 S_2)^1/2), which pytorch-fid takes from
//     scipy's general sqrtm; here both square roots come from the symmetric
//     eigendecomposition (ops::eigh: Eigen on the CPU, cuSOLVER on CUDA),
//     because S_1^1/2 S_2 S_1^1/2 is symmetric positive semidefinite, so its
//     square root is exact and real, and rounding's small negative
//     eigenvalues are clamped to 0 instead of giving complex parts.
//   Inception Score (Salimans et al. 2016)  exp(E_x KL(p(y|x) || p(y))) over
//     class probabilities, in `splits` equal parts, mean and standard
//     deviation over the parts, as the original code reports it.
//
// The scores are only comparable with published ones when the features and
// probabilities come from the Inception-v3 network with its published
// weights; the caller decides which network produced them.
// Everything is computed in float64 on the device of the inputs.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace nova::datasets {

/// Mean and covariance of a set of feature vectors (float64, on the device of
/// the features).
struct FeatureStatistics {
  Tensor mean;        // [D]
  Tensor covariance;  // [D, D], unbiased (divided by N - 1, as numpy.cov)
  int64_t count = 0;  // N, the vectors they came from
};

/// Statistics of features [N, D] (any floating dtype; N >= 2).
FeatureStatistics feature_statistics(const Tensor& features);

/// The Frechet distance between N(a.mean, a.covariance) and
/// N(b.mean, b.covariance) (see the top of the file). The covariances must be
/// symmetric positive semidefinite [D, D] of the same D, on one device.
double frechet_distance(const FeatureStatistics& a, const FeatureStatistics& b);

/// FID between two sets of features [N_1, D] and [N_2, D].
double frechet_distance(const Tensor& features_a, const Tensor& features_b);

struct InceptionScore {
  double mean = 0;  // mean over the splits of exp(mean KL)
  double std = 0;   // population standard deviation over the splits (numpy.std)
};

/// Inception Score of class probabilities [N, C] (rows sum to 1, within
/// 1e-3), in `splits` consecutive parts of N / splits rows (the last rows
/// are dropped when splits does not divide N, as the original code's
/// integer division does). 0 log 0 counts as 0.
InceptionScore inception_score(const Tensor& probabilities, int64_t splits = 10);

}  // namespace nova::datasets
