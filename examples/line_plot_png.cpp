// examples/line_plot_png.cpp: write_line_plot_png (see line_plot_png.h).
#include "examples/line_plot_png.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/base/error.h"
#include "examples/bitmap_font.h"

namespace nova::examples {

namespace {

constexpr Rgb kInk{40, 40, 40}, kGrid{190, 190, 190};
constexpr int kLeft = 70, kRight = 16, kTop = 44, kBottom = 22;  // margins of a panel's plot area

std::string short_number(double v) { return fmt::format("{:.4g}", v); }

void draw_panel(Canvas& c, const LinePanel& p, int top, int width, int height) {
  double lo = INFINITY, hi = -INFINITY;
  size_t n = 0;
  for (const LineSeries& s : p.series) {
    NOVA_CHECK(!s.y.empty(), "write_line_plot_png: series '{}' of panel '{}' is empty", s.label, p.title);
    n = std::max(n, s.y.size());
    for (double v : s.y)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  }
  for (double r : p.reference_lines) lo = std::min(lo, r), hi = std::max(hi, r);
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  if (hi - lo < 1e-12) lo -= 1, hi += 1;
  const double pad = 0.05 * (hi - lo);
  lo -= pad, hi += pad;
  const int x0 = kLeft, x1 = width - kRight, y0 = top + kTop, y1 = top + height - kBottom;
  auto px = [&](size_t i) { return n <= 1 ? x0 : x0 + int(std::lround(double(i) * (x1 - x0) / double(n - 1))); };
  auto py = [&](double v) { return y1 - int(std::lround((v - lo) / (hi - lo) * (y1 - y0))); };

  c.text(x0, top + 6, p.title, 2, kInk);
  c.frame(x0, y0, x1 - x0 + 1, y1 - y0 + 1, kInk);
  c.text(4, y0, short_number(hi), 1, kInk);
  c.text(4, y1 - 8, short_number(lo), 1, kInk);
  for (double r : p.reference_lines) {
    const int y = py(r);
    for (int x = x0; x <= x1; x += 6) c.hline(x, std::min(x + 2, x1), y, kGrid);
    if (std::abs(y - y0) > 10 && std::abs(y - y1) > 10) c.text(4, y - 4, short_number(r), 1, kInk);  // not over an end's label
  }
  c.text(x0, y1 + 6, "1", 1, kInk);
  const std::string last = std::to_string(n);
  c.text(x1 - bitmap_font::text_width(last, 1), y1 + 6, last, 1, kInk);
  int legend_x = x1;
  for (auto it = p.series.rbegin(); it != p.series.rend(); ++it) {
    legend_x -= bitmap_font::text_width(it->label, 1) + 24;
    c.fill_rect(legend_x, top + 32, 14, 4, it->color);  // under the title, above the frame
    c.text(legend_x + 18, top + 30, it->label, 1, it->color);
  }
  for (const LineSeries& s : p.series)
    for (size_t i = 0; i + 1 < s.y.size(); ++i)
      if (std::isfinite(s.y[i]) && std::isfinite(s.y[i + 1]))
        c.line(px(i), py(s.y[i]), px(i + 1), py(s.y[i + 1]), s.color);
}

}  // namespace

void write_line_plot_png(const std::string& path, const std::vector<LinePanel>& panels, int panel_width,
                         int panel_height) {
  NOVA_CHECK(!panels.empty(), "write_line_plot_png: no panels to draw ({})", path);
  Canvas c(panel_width, panel_height * int(panels.size()));
  for (size_t k = 0; k < panels.size(); ++k) draw_panel(c, panels[k], int(k) * panel_height, panel_width, panel_height);
  c.write_png(path, "write_line_plot_png");
}

}  // namespace nova::examples
