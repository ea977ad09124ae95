// tests/test_example_figure_png.cpp: the example plots (examples/canvas.h,
// bitmap_font.h, scatter_png.h, figure_png.h). The font's glyphs are all
// distinct and none is the box of a missing one; the canvas clips; a scatter
// panel drawn at an offset stays inside its square; and Figure 2.6 written
// to a PNG and read back with stb_image has the size its layout says, its
// bars where and in the colours they must be, no bar for a NaN score, text in
// the title band, and errors for bad inputs and an unwritable path. Compiled
// only when the examples are built (the file name's test_example_ prefix
// tells tests/CMakeLists.txt so).
#include <array>
#include <cmath>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/test_util.h"

#ifdef NOVA_EXAMPLE_PLOTS

#define STB_IMAGE_IMPLEMENTATION
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <stb/stb_image.h>
#pragma GCC diagnostic pop

#include "core/factory.h"
#include "examples/bitmap_font.h"
#include "examples/canvas.h"
#include "examples/figure_png.h"
#include "examples/scatter_png.h"

namespace {

using namespace nova;
using namespace nova::examples;
namespace font = nova::examples::bitmap_font;

/// A PNG read back as RGB.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
  Rgb at(int x, int y) const {
    REQUIRE(x >= 0);
    REQUIRE(y >= 0);
    REQUIRE(x < width);
    REQUIRE(y < height);
    const uint8_t* p = &rgb[(size_t(y) * width + x) * 3];
    return {p[0], p[1], p[2]};
  }
};

Image read_png(const std::string& path) {
  Image image;
  int channels = 0;
  std::unique_ptr<uint8_t, void (*)(void*)> data(stbi_load(path.c_str(), &image.width, &image.height, &channels, 3),
                                                 stbi_image_free);
  REQUIRE(data);
  image.rgb.assign(data.get(), data.get() + size_t(image.width) * image.height * 3);
  return image;
}

bool dark(Rgb c) { return c.r < 128 && c.g < 128 && c.b < 128; }

/// Eight centres on the unit circle, as the thesis's mixture.
Tensor ring_centres() {
  std::vector<double> xy;
  for (int k = 0; k < 8; ++k) {
    xy.push_back(std::cos(2 * M_PI * k / 8));
    xy.push_back(std::sin(2 * M_PI * k / 8));
  }
  return from_vector(xy, {8, 2}, kFloat32);
}

/// 40 points: five near each centre.
Tensor ring_points() {
  std::vector<double> xy;
  for (int k = 0; k < 8; ++k)
    for (int i = 0; i < 5; ++i) {
      xy.push_back(std::cos(2 * M_PI * k / 8) + 0.02 * (i - 2));
      xy.push_back(std::sin(2 * M_PI * k / 8) - 0.02 * (i - 2));
    }
  return from_vector(xy, {40, 2}, kFloat64);
}

/// 2 rows x 2 snapshots. Row 0 step 5000 has the figure's largest score
/// (+3, mode 1) and its smallest (-2, mode 2); row 1 step 10000 has a NaN for
/// mode 3.
std::vector<FigureRow> sample_rows() {
  std::vector<FigureRow> rows(2);
  rows[0].label = "baseline";
  rows[1].label = "aw1";
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 2; ++c) {
      FigureSnapshot s;
      s.step = 5000 * (c + 1);
      s.points = ring_points();
      s.mode_scores = {0.4, -0.3, 0.2, 0.1, -0.1, 0.5, -0.6, 0.0};
      s.caption = "8/8 modes, hq 83%";
      rows[size_t(r)].snapshots.push_back(s);
    }
  rows[0].snapshots[0].mode_scores[0] = 3.0;
  rows[0].snapshots[0].mode_scores[1] = -2.0;
  rows[1].snapshots[1].mode_scores[2] = std::nan("");
  return rows;
}

}  // namespace

TEST_CASE("the bitmap font covers the figure's characters with distinct glyphs, others draw as a box",
          "[example][figure]") {
  const std::string required =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz +-.,:/()=%_#>";
  for (char c : required) {
    INFO("character '" << c << "'");
    CHECK(font::has_glyph(c));
  }
  const std::string& covered = font::covered_characters();
  std::set<std::array<uint8_t, font::kGlyphHeight>> seen;
  for (char c : covered) {
    INFO("character '" << c << "'");
    CHECK(font::glyph(c) != font::box_glyph());
    CHECK(seen.insert(font::glyph(c).rows).second);  // no two glyphs alike
  }
  CHECK(seen.size() == covered.size());
  CHECK(!font::has_glyph('~'));
  CHECK(font::glyph('~') == font::box_glyph());
  CHECK(font::glyph('\x01') == font::box_glyph());
  CHECK(font::text_width("", 3) == 0);
  CHECK(font::text_width("ab", 1) == 11);
  CHECK(font::text_width("ab", 2) == 22);
}

TEST_CASE("the canvas clips what it draws and writes what it holds", "[example][figure]") {
  Canvas canvas(30, 20, {255, 255, 255});
  canvas.fill_rect(-5, -5, 10, 10, {255, 0, 0});  // only its corner [0, 5) x [0, 5) is on the canvas
  CHECK(canvas.pixel(4, 4) == Rgb{255, 0, 0});
  CHECK(canvas.pixel(5, 5) == Rgb{255, 255, 255});
  canvas.hline(40, 25, 10, {0, 0, 255});  // either order, cut at the edge
  CHECK(canvas.pixel(25, 10) == Rgb{0, 0, 255});
  CHECK(canvas.pixel(29, 10) == Rgb{0, 0, 255});
  CHECK(canvas.pixel(24, 10) == Rgb{255, 255, 255});
  canvas.blend(0, 19, {0, 0, 0}, 0.5);
  CHECK(canvas.pixel(0, 19) == Rgb{128, 128, 128});
  CHECK(canvas.text(2, 8, "Hi", 1, {0, 0, 0}) == font::text_width("Hi", 1));
  CHECK(canvas.pixel(2, 8) == Rgb{0, 0, 0});  // H's top-left
  REQUIRE_THROWS_NOVA(canvas.pixel(30, 0), "off the 30 x 20 canvas");
  REQUIRE_THROWS_NOVA(Canvas(0, 5), "Canvas: width and height");

  nova::test::TempDir dir;
  canvas.write_png(dir.file("c.png"));
  Image image = read_png(dir.file("c.png"));
  CHECK(image.width == 30);
  CHECK(image.height == 20);
  CHECK(image.at(4, 4) == Rgb{255, 0, 0});
  REQUIRE_THROWS_NOVA(canvas.write_png("/nonexistent_nova_dir/c.png", "my_plot"),
                      "my_plot: cannot write /nonexistent_nova_dir/c.png");
}

TEST_CASE("a scatter panel drawn at an offset stays inside its square", "[example][figure]") {
  Canvas canvas(100, 90);
  ScatterOptions options;
  options.size = 50;
  options.dot_radius = 3;
  // points on the panel's edges, whose dots would spill over it
  Tensor points = from_vector(std::vector<double>{1.5, 1.5, -1.5, -1.5, 0, 0, 5, 5}, {4, 2}, kFloat64);
  CHECK(draw_scatter(canvas, 20, 30, points, ring_centres(), options) == 3);
  int inside = 0;
  for (int y = 0; y < 90; ++y)
    for (int x = 0; x < 100; ++x) {
      const bool in_panel = x >= 20 && x < 70 && y >= 30 && y < 80;
      if (!in_panel) {
        INFO("pixel " << x << ", " << y);
        REQUIRE(canvas.pixel(x, y) == Rgb{255, 255, 255});
      } else if (canvas.pixel(x, y) != Rgb{255, 255, 255}) {
        ++inside;
      }
    }
  CHECK(inside > 200);  // frame, axes, rings, dots

  nova::test::TempDir dir;
  CHECK(write_scatter_png(dir.file("s.png"), points, ring_centres(), options) == 3);
  Image image = read_png(dir.file("s.png"));
  CHECK(image.width == 50);
  CHECK(image.height == 50);
}

TEST_CASE("Figure 2.6 is one PNG: size, bar colours, no bar for NaN, title text", "[example][figure]") {
  const std::vector<FigureRow> rows = sample_rows();
  const Tensor centres = ring_centres();
  FigureOptions options;
  options.title = "Figure 2.6: 8 Gaussians, baseline vs aw1";
  const FigureLayout L = figure_layout(rows, centres, options);
  nova::test::TempDir dir;
  write_figure_png(dir.file("fig.png"), rows, centres, options);
  const Image image = read_png(dir.file("fig.png"));

  // the size the layout says, which holds 2 x 2 column pairs that do not overlap
  CHECK(image.width == L.width);
  CHECK(image.height == L.height);
  REQUIRE(L.scatter.size() == 2);
  REQUIRE(L.scores.size() == 2);
  for (int r = 0; r < 2; ++r) {
    REQUIRE(L.scatter[size_t(r)].size() == 2);
    for (int c = 0; c < 2; ++c) {
      const PixelRect &s = L.scatter[size_t(r)][size_t(c)], &p = L.scores[size_t(r)][size_t(c)];
      CHECK(s.w == 220);
      CHECK(s.h == 220);
      CHECK(p.x == s.x);  // the bars sit under their scatter
      CHECK(p.w == s.w);
      CHECK(p.y > s.y + s.h);
      CHECK(p.y + p.h <= L.height);
      CHECK(s.x + s.w <= L.width);
      if (c == 1) CHECK(s.x > L.scatter[size_t(r)][0].x + 220);
      if (r == 1) CHECK(s.y > L.scores[0][size_t(c)].y + L.scores[0][size_t(c)].h);
    }
  }
  // one y range for all panels: 0, the +3 and the -2 in whole ticks
  CHECK(L.lo == -2);
  CHECK(L.hi == 3);
  CHECK(L.tick == 1);

  // the +3 bar (mode 1) and the -2 bar (mode 2) of row 0, step 5000: halfway along each
  const PixelRect& plot = L.scores[0][0];
  const int zero = L.score_y(plot, 0);
  CHECK(image.at(L.bar_x(plot, 0), (zero + L.score_y(plot, 3.0)) / 2) == kPositiveBar);
  CHECK(image.at(L.bar_x(plot, 1), (zero + L.score_y(plot, -2.0)) / 2) == kNegativeBar);
  CHECK(L.score_y(plot, 3.0) < zero - 50);  // big bars, not a pixel or two
  CHECK(L.score_y(plot, -2.0) > zero + 30);
  // the same modes in row 1 (+0.4 and -0.3): smaller bars, same colours
  const PixelRect& plot1 = L.scores[1][0];
  CHECK(image.at(L.bar_x(plot1, 0), L.score_y(plot1, 0.2)) == kPositiveBar);
  CHECK(image.at(L.bar_x(plot1, 1), L.score_y(plot1, -0.15)) == kNegativeBar);

  // the NaN of row 1, step 10000, mode 3 has no bar in its column; its neighbour has one
  const PixelRect& nan_plot = L.scores[1][1];
  for (int y = nan_plot.y; y < nan_plot.y + nan_plot.h; ++y) {
    const Rgb c = image.at(L.bar_x(nan_plot, 2), y);
    INFO("row " << y);
    REQUIRE(c != kPositiveBar);
    REQUIRE(c != kNegativeBar);
  }
  CHECK(image.at(L.bar_x(nan_plot, 1), L.score_y(nan_plot, -0.15)) == kNegativeBar);

  // dark text pixels in the title band, above the "step" labels
  int title_ink = 0;
  for (int y = 0; y < L.scatter[0][0].y - 30; ++y)
    for (int x = 0; x < L.width; ++x) title_ink += dark(image.at(x, y));
  CHECK(title_ink > 200);
  // without a title the band shrinks to the margin
  options.title.clear();
  const FigureLayout untitled = figure_layout(rows, centres, options);
  CHECK(untitled.height < L.height);
  CHECK(untitled.scatter[0][0].y < L.scatter[0][0].y);
  // a title wider than the figure wraps at spaces: every line fits, no word is lost
  options.title = "a title far too long for one line of a figure only two panels wide, so it wraps at its spaces";
  const FigureLayout wrapped = figure_layout(rows, centres, options);
  CHECK(wrapped.title_lines.size() >= 2);
  std::string joined;
  for (const std::string& line : wrapped.title_lines) {
    CHECK(font::text_width(line, 3) < wrapped.width);
    joined += (joined.empty() ? "" : " ") + line;
  }
  CHECK(joined == options.title);
  CHECK(wrapped.height > L.height);
  CHECK(wrapped.width == L.width);
}

TEST_CASE("Figure 2.6 refuses bad inputs and names an unwritable path", "[example][figure][errors]") {
  const Tensor centres = ring_centres();
  nova::test::TempDir dir;
  const std::string path = dir.file("fig.png");
  {
    auto rows = sample_rows();
    rows[1].snapshots.pop_back();
    REQUIRE_THROWS_NOVA(write_figure_png(path, rows, centres), "row 'aw1' has 1 snapshots but row 'baseline' has 2");
  }
  {
    auto rows = sample_rows();
    rows[0].snapshots[1].mode_scores.pop_back();
    REQUIRE_THROWS_NOVA(write_figure_png(path, rows, centres),
                        "row 'baseline' step 10000: 7 mode_scores for 8 centres");
  }
  {
    auto rows = sample_rows();
    rows[1].snapshots[0].points = ring_points().reshape({20, 4});
    REQUIRE_THROWS_NOVA(write_figure_png(path, rows, centres),
                        "row 'aw1' step 5000: points must be [n, 2], got [20, 4]");
  }
  REQUIRE_THROWS_NOVA(write_figure_png(path, {}, centres), "write_figure_png: no rows");
  REQUIRE_THROWS_NOVA(write_figure_png(path, sample_rows(), centres.reshape({4, 4})),
                      "centres must be [modes >= 1, 2]");
  FigureOptions tiny;
  tiny.panel = 10;
  REQUIRE_THROWS_NOVA(write_figure_png(path, sample_rows(), centres, tiny), "panel 10 in [64, 2048]");
  CHECK(!std::filesystem::exists(path));  // nothing written by a refused call

  REQUIRE_THROWS_NOVA(write_figure_png("/nonexistent_nova_dir/fig.png", sample_rows(), centres),
                      "write_figure_png: cannot write /nonexistent_nova_dir/fig.png");
}

#endif  // NOVA_EXAMPLE_PLOTS
