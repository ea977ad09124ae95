// examples/scatter_png.cpp: see scatter_png.h. The panel is drawn with plain
// loops on a Canvas (canvas.h), which also writes the PNG.
#include "examples/scatter_png.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/autograd.h"
#include "core/base/error.h"

namespace nova::examples {

namespace {

/// Refuses what draw_scatter cannot draw; write_scatter_png calls it before
/// it makes a canvas of options.size.
void check_inputs(std::string_view op, const Tensor& points, const Tensor& centres, const ScatterOptions& options) {
  check_defined(std::string(op).c_str(), points, "points");
  check_defined(std::string(op).c_str(), centres, "centres");
  NOVA_CHECK(points.dim() == 2 && points.size(1) == 2, "{}: points must be [n, 2], got {}", op, points.shape().str());
  NOVA_CHECK(centres.dim() == 2 && centres.size(1) == 2, "{}: centres must be [modes, 2], got {}", op,
             centres.shape().str());
  NOVA_CHECK(options.size >= 16 && options.size <= 4096 && options.extent > 0 && options.dot_radius >= 0 &&
                 options.dot_alpha > 0 && options.dot_alpha <= 1 && options.marker_radius >= 0,
             "{}: bad options (size {} in [16, 4096], extent {} > 0, dot_radius {} >= 0, "
             "dot_alpha {} in (0, 1], marker_radius {} >= 0)",
             op, options.size, options.extent, options.dot_radius, options.dot_alpha, options.marker_radius);
}

}  // namespace

int64_t draw_scatter(Canvas& canvas, int left, int top, const Tensor& points, const Tensor& centres,
                     const ScatterOptions& options, std::string_view op) {
  check_inputs(op, points, centres, options);
  NoGradGuard no_grad;
  const auto p = points.detach().to(kCPU).to(kFloat64).contiguous().to_vector<double>();
  const auto c = centres.detach().to(kCPU).to(kFloat64).contiguous().to_vector<double>();
  const int size = options.size;
  // (px, py) in panel pixels; a dot or ring at the panel's edge is cut there,
  // not spilled into the neighbouring panel
  auto put = [&](int px, int py, Rgb colour, double alpha) {
    if (px >= 0 && py >= 0 && px < size && py < size) canvas.blend(left + px, top + py, colour, alpha);
  };
  // data (x, y) -> pixel (column, row): y grows upwards, rows downwards
  const double scale = (size - 1) / (2 * options.extent);
  auto column = [&](double x) { return (x + options.extent) * scale; };
  auto row = [&](double y) { return (options.extent - y) * scale; };

  const Rgb grey{200, 200, 200}, red{220, 30, 30}, blue{20, 60, 200};
  const int origin_col = int(std::lround(column(0))), origin_row = int(std::lround(row(0)));
  for (int i = 0; i < size; ++i) {
    put(i, origin_row, grey, 1);  // x axis
    put(origin_col, i, grey, 1);  // y axis
    put(i, 0, grey, 1);           // frame
    put(i, size - 1, grey, 1);
    put(0, i, grey, 1);
    put(size - 1, i, grey, 1);
  }
  // centres first, so that samples landing on a mode are drawn over its ring
  const int r = options.marker_radius;
  for (size_t k = 0; k + 1 < c.size(); k += 2) {
    const double cx = column(c[k]), cy = row(c[k + 1]);
    for (int dy = -r - 1; dy <= r + 1; ++dy)
      for (int dx = -r - 1; dx <= r + 1; ++dx) {
        const double d = std::hypot(dx, dy);
        if (std::abs(d - r) <= 0.75)  // a ring 1.5 px wide
          put(int(std::lround(cx)) + dx, int(std::lround(cy)) + dy, red, 1);
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
        put(px + dx, py + dy, blue, options.dot_alpha);
    ++drawn;
  }
  return drawn;
}

int64_t write_scatter_png(const std::string& path, const Tensor& points, const Tensor& centres,
                          const ScatterOptions& options) {
  check_inputs("write_scatter_png", points, centres, options);
  Canvas canvas(options.size, options.size);
  const int64_t drawn = draw_scatter(canvas, 0, 0, points, centres, options, "write_scatter_png");
  canvas.write_png(path, "write_scatter_png");
  return drawn;
}

}  // namespace nova::examples
