// examples/scatter_png.cpp: see scatter_png.h. The image is an RGB byte
// buffer drawn with plain loops, then handed to stb_image_write (Debian's
// libstb-dev; this file is the one place its implementation is compiled).
#include "examples/scatter_png.h"

#include <algorithm>
#include <cmath>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "core/autograd.h"
#include "core/base/error.h"

namespace nova::examples {

namespace {

struct Rgb {
  double r, g, b;
};

class Canvas {
 public:
  explicit Canvas(int size) : size_(size), pixels_(size_t(size) * size * 3, 255) {}

  /// Blends `c` over pixel (x, y) with opacity `alpha`; off-canvas is ignored.
  void blend(int x, int y, Rgb c, double alpha) {
    if (x < 0 || y < 0 || x >= size_ || y >= size_) return;
    uint8_t* p = &pixels_[(size_t(y) * size_ + x) * 3];
    const double rgb[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; ++k) p[k] = uint8_t(std::lround(p[k] * (1 - alpha) + rgb[k] * alpha));
  }

  const uint8_t* data() const { return pixels_.data(); }
  int size() const { return size_; }

 private:
  int size_;
  std::vector<uint8_t> pixels_;
};

}  // namespace

int64_t write_scatter_png(const std::string& path, const Tensor& points, const Tensor& centres,
                          const ScatterOptions& options) {
  check_defined("write_scatter_png", points, "points");
  check_defined("write_scatter_png", centres, "centres");
  NOVA_CHECK(points.dim() == 2 && points.size(1) == 2, "write_scatter_png: points must be [n, 2], got {}",
             points.shape().str());
  NOVA_CHECK(centres.dim() == 2 && centres.size(1) == 2, "write_scatter_png: centres must be [modes, 2], got {}",
             centres.shape().str());
  NOVA_CHECK(options.size >= 16 && options.size <= 4096 && options.extent > 0 && options.dot_radius >= 0 &&
                 options.dot_alpha > 0 && options.dot_alpha <= 1 && options.marker_radius >= 0,
             "write_scatter_png: bad options (size {} in [16, 4096], extent {} > 0, dot_radius {} >= 0, "
             "dot_alpha {} in (0, 1], marker_radius {} >= 0)",
             options.size, options.extent, options.dot_radius, options.dot_alpha, options.marker_radius);

  NoGradGuard no_grad;
  const auto p = points.detach().to(kCPU).to(kFloat64).contiguous().to_vector<double>();
  const auto c = centres.detach().to(kCPU).to(kFloat64).contiguous().to_vector<double>();
  const int size = options.size;
  Canvas canvas(size);
  // data (x, y) -> pixel (column, row): y grows upwards, rows downwards
  const double scale = (size - 1) / (2 * options.extent);
  auto column = [&](double x) { return (x + options.extent) * scale; };
  auto row = [&](double y) { return (options.extent - y) * scale; };

  const Rgb grey{200, 200, 200}, red{220, 30, 30}, blue{20, 60, 200};
  const int origin_col = int(std::lround(column(0))), origin_row = int(std::lround(row(0)));
  for (int i = 0; i < size; ++i) {
    canvas.blend(i, origin_row, grey, 1);  // x axis
    canvas.blend(origin_col, i, grey, 1);  // y axis
    canvas.blend(i, 0, grey, 1);           // frame
    canvas.blend(i, size - 1, grey, 1);
    canvas.blend(0, i, grey, 1);
    canvas.blend(size - 1, i, grey, 1);
  }
  // centres first, so that samples landing on a mode are drawn over its ring
  const int r = options.marker_radius;
  for (size_t k = 0; k + 1 < c.size(); k += 2) {
    const double cx = column(c[k]), cy = row(c[k + 1]);
    for (int dy = -r - 1; dy <= r + 1; ++dy)
      for (int dx = -r - 1; dx <= r + 1; ++dx) {
        const double d = std::hypot(dx, dy);
        if (std::abs(d - r) <= 0.75)  // a ring 1.5 px wide
          canvas.blend(int(std::lround(cx)) + dx, int(std::lround(cy)) + dy, red, 1);
      }
  }
  int64_t drawn = 0;
  for (size_t i = 0; i + 1 < p.size(); i += 2) {
    const double x = p[i], y = p[i + 1];
    if (!std::isfinite(x) || !std::isfinite(y) || std::abs(x) > options.extent || std::abs(y) > options.extent)
      continue;
    const int px = int(std::lround(column(x))), py = int(std::lround(row(y)));
    for (int dy = -options.dot_radius; dy <= options.dot_radius; ++dy)
      for (int dx = -options.dot_radius; dx <= options.dot_radius; ++dx)
        canvas.blend(px + dx, py + dy, blue, options.dot_alpha);
    ++drawn;
  }
  NOVA_CHECK(stbi_write_png(path.c_str(), size, size, 3, canvas.data(), size * 3) != 0,
             "write_scatter_png: cannot write {} (does the folder exist and is it writable?)", path);
  return drawn;
}

}  // namespace nova::examples
