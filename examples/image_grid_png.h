// examples/image_grid_png.h: a grid of images (GAN samples) as one PNG, the
// sample sheets of the image-GAN trainer (examples/gan_images). Pixels map
// from [-1, 1] (G's tanh range) to 0..255, clamped; 1 channel is drawn as
// grey, 3 as RGB. Tiles are separated by `gap` pixels of the background.
#pragma once

#include <string>

#include "core/tensor.h"

namespace nova::examples {

struct ImageGridOptions {
  int columns = 8;  // tiles per row; rows = ceil(N / columns)
  int gap = 2;      // pixels between tiles and around the grid
  int scale = 2;    // each image pixel drawn as scale x scale
};

/// Writes images [N, C, H, W] (C = 1 or 3, values in [-1, 1]) as a grid PNG.
/// Throws nova::Error naming `path` (or the bad shape or options).
void write_image_grid_png(const std::string& path, const Tensor& images, const ImageGridOptions& options = {});

}  // namespace nova::examples
