// datasets/images.h: what the image readers (CIFAR, STL-10) hand back and
// how they turn a uint8 pixel p into a float: one table of 256 values per
// range, so every reader maps the same byte to the same float bit for bit.
//
//   PixelRange::MinusOneToOne   x = (2p - 255) / 255   0 -> -1, 255 -> 1
//   PixelRange::ZeroToOne       x = p / 255            0 ->  0, 255 -> 1
//
// [-1, 1] is the readers' default because their users are GAN trainers: a
// generator ends in tanh, so real images must live in tanh's range too, or D
// tells real from fake by the range alone (the SN-GAN, AutoGAN and
// BigGAN-PyTorch pipelines all normalise with mean 0.5, std 0.5, which is this
// map). Both maps are one correctly rounded float division of exact integers,
// so p and 255 - p give exactly opposite values in [-1, 1].
#pragma once

#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace nova::datasets {

/// The float range uint8 pixels are scaled to.
enum class PixelRange { MinusOneToOne, ZeroToOne };

/// Images and their class labels, as the CIFAR and STL-10 readers return them.
struct ImageDataset {
  Tensor images;  ///< [n, 3, h, w] float32, channels R, G, B, scaled as PixelRange says
  Tensor labels;  ///< [n] int64 class indices from 0; undefined for unlabelled data
};

/// value[p] = the float for pixel byte p in `range` (formulas above).
inline std::array<float, 256> pixel_table(PixelRange range) {
  std::array<float, 256> value{};
  for (int p = 0; p < 256; ++p)
    value[size_t(p)] = range == PixelRange::MinusOneToOne ? float(2 * p - 255) / 255.0f
                                                          : float(p) / 255.0f;
  return value;
}

/// The float for the mean of four pixel bytes whose sum is `sum` (0 to
/// 1020): the same maps as pixel_table applied to sum / 4, without rounding
/// the mean to a byte first (the STL-10 reader's 2x2 downscale).
inline float quad_mean_value(uint32_t sum, PixelRange range) {
  return range == PixelRange::MinusOneToOne ? float(int32_t(sum) - 510) / 510.0f
                                            : float(sum) / 1020.0f;
}

}  // namespace nova::datasets
