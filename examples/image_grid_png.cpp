// examples/image_grid_png.cpp: see image_grid_png.h; drawn on a Canvas, which
// writes the PNG.
#include "examples/image_grid_png.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/base/error.h"
#include "examples/canvas.h"

namespace nova::examples {

void write_image_grid_png(const std::string& path, const Tensor& images, const ImageGridOptions& options) {
  check_defined("write_image_grid_png", images, "images");
  NOVA_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3) && images.size(0) > 0,
             "write_image_grid_png: images must be [N >= 1, 1 or 3, H, W], got {}", images.shape().str());
  NOVA_CHECK(options.columns >= 1 && options.gap >= 0 && options.scale >= 1,
             "write_image_grid_png: bad options (columns {} >= 1, gap {} >= 0, scale {} >= 1)", options.columns,
             options.gap, options.scale);
  NoGradGuard no_grad;
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const auto v = images.detach().to(kCPU).to(kFloat32).contiguous().to_vector<float>();
  const int cols = int(std::min<int64_t>(options.columns, n));
  const int rows = int((n + cols - 1) / cols);
  const int s = options.scale, gap = options.gap;
  const int tile_w = int(w) * s, tile_h = int(h) * s;
  Canvas canvas(gap + cols * (tile_w + gap), gap + rows * (tile_h + gap), Rgb{40, 40, 40});
  auto byte = [](float x) {
    const float u = std::isfinite(x) ? std::clamp((x + 1.0f) * 127.5f, 0.0f, 255.0f) : 0.0f;
    return uint8_t(std::lround(u));
  };
  for (int64_t i = 0; i < n; ++i) {
    const int left = gap + int(i % cols) * (tile_w + gap), top = gap + int(i / cols) * (tile_h + gap);
    const float* img = v.data() + i * c * h * w;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        const uint8_t r = byte(img[y * w + x]);
        const uint8_t g = c == 3 ? byte(img[h * w + y * w + x]) : r;
        const uint8_t b = c == 3 ? byte(img[2 * h * w + y * w + x]) : r;
        canvas.fill_rect(left + int(x) * s, top + int(y) * s, s, s, Rgb{r, g, b});
      }
  }
  canvas.write_png(path, "write_image_grid_png");
}

}  // namespace nova::examples
