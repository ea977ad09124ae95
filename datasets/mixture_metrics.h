// datasets/mixture_metrics.h: how well a generator covers a Gaussian
// mixture, as the mode-collapse literature measures it on the 2-D toys
// (unrolled-GAN paper, Metz et al. 2017; VEEGAN, Srivastava et al. 2017):
//
//   high-quality sample  a generated point within `std_multiple` (3) standard
//                        deviations (Euclidean distance <= 3 std) of its
//                        nearest centre; it is then assigned to that mode
//   mode covered         a mode that holds at least `min_count` high-quality
//                        samples
//   high-quality %       100 * high-quality samples / all samples
//
// Thresholds. VEEGAN evaluates 2,500 generated samples and counts a sample as
// high quality within 3 std of the nearest mode. How many high-quality
// samples make a mode "covered" differs between papers (a single sample is
// the loosest reading); nova uses 20 of 2,500, the threshold PacGAN (Lin et
// al. 2018) states for this protocol, so that a handful of stray points
// between modes does not count as coverage. With 8 modes, 20 is 6% of the
// 312 samples a perfect generator puts in each mode. Both numbers are
// options; the example trainer prints the ones it used.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datasets/gaussian_mixture.h"

namespace nova::datasets {

struct MixtureMetricsOptions {
  double std_multiple = 3.0;  // high quality: distance to the nearest centre <= std_multiple * std
  int64_t min_count = 20;     // covered: at least this many high-quality samples in the mode
};

struct MixtureMetrics {
  int64_t samples = 0;                          // points evaluated
  int64_t high_quality = 0;                     // of them, within the distance bound
  std::vector<int64_t> high_quality_per_mode;   // one count per centre, in centre order
  int64_t modes = 0;                            // centres in the mixture
  int64_t modes_covered = 0;                    // modes with >= min_count high-quality samples
  double high_quality_percent = 0;              // 100 * high_quality / samples (0 when samples == 0)
  MixtureMetricsOptions options;                // the thresholds used

  /// "modes 8/8, high-quality 91.2%": the short form the trainer prints.
  std::string summary() const;
};

/// Scores generated `points` [n, 2] (any floating dtype, any device; copied
/// to the CPU and evaluated in double) against `mixture`. A point that is
/// NaN or infinite is never high quality. Throws nova::Error for a bad
/// shape, a mixture with std 0 or no centres, or negative thresholds.
MixtureMetrics mixture_metrics(const GaussianMixture& mixture, const Tensor& points,
                               const MixtureMetricsOptions& options = {});

}  // namespace nova::datasets
