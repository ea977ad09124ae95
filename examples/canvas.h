// examples/canvas.h: an RGB pixel buffer with the few drawing operations the
// example plots need (blended pixels, filled rectangles, lines, text in the
// built-in bitmap font) and a PNG writer. The
// plots are simple enough that plain loops over a byte buffer beat pulling in
// a plotting or graphics library; the PNG encoding is stb_image_write's
// (Debian: libstb-dev), compiled into canvas.cpp only.
//
// Coordinates are pixels, x to the right and y downwards from the top-left
// corner. Everything drawn is clipped to the canvas, so a caller may draw
// partly or wholly off it without checking.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nova::examples {

struct Rgb {
  uint8_t r = 0, g = 0, b = 0;
  bool operator==(const Rgb& o) const { return r == o.r && g == o.g && b == o.b; }
  bool operator!=(const Rgb& o) const { return !(*this == o); }
};

class Canvas {
 public:
  /// A width x height canvas filled with `background`. Throws nova::Error
  /// unless both sides are in [1, 16384].
  Canvas(int width, int height, Rgb background = {255, 255, 255});

  int width() const { return width_; }
  int height() const { return height_; }
  /// Rows top to bottom, each `width` pixels of r, g, b bytes.
  const uint8_t* data() const { return pixels_.data(); }

  /// The pixel at (x, y). Throws nova::Error off the canvas (a test reading
  /// the wrong place should fail loudly, not read a neighbour).
  Rgb pixel(int x, int y) const;

  /// Blends `c` over pixel (x, y) with opacity `alpha` in [0, 1].
  void blend(int x, int y, Rgb c, double alpha = 1);

  /// Blends `c` over the w x h rectangle whose top-left pixel is (x, y);
  /// nothing when w or h <= 0.
  void fill_rect(int x, int y, int w, int h, Rgb c, double alpha = 1);

  /// A 1-pixel line from (x0, y) to (x1, y), both ends included, either order.
  void hline(int x0, int x1, int y, Rgb c);

  /// A 1-pixel line from (x, y0) to (x, y1), both ends included, either order.
  void vline(int x, int y0, int y1, Rgb c);

  /// A 1-pixel line from (x0, y0) to (x1, y1), both ends included
  /// (Bresenham: one pixel per step along the longer axis).
  void line(int x0, int y0, int x1, int y1, Rgb c);

  /// The 1-pixel outline of the w x h rectangle whose top-left is (x, y).
  void frame(int x, int y, int w, int h, Rgb c);

  /// Draws `text` in the bitmap font (bitmap_font.h) with its top-left at
  /// (x, y), each font pixel a `scale` x `scale` square of `c`. Returns the
  /// width drawn (bitmap_font::text_width). Characters the font lacks draw
  /// as a box. Throws nova::Error unless scale >= 1.
  int text(int x, int y, std::string_view text, int scale, Rgb c);

  /// Writes the canvas as an RGB PNG at `path`. Throws nova::Error naming
  /// the path when the file cannot be written; the message starts with `op`,
  /// so a plot's error names the plot function the caller called.
  void write_png(const std::string& path, std::string_view op = "Canvas::write_png") const;

 private:
  int width_, height_;
  std::vector<uint8_t> pixels_;
};

}  // namespace nova::examples
