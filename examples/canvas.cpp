// examples/canvas.cpp: see canvas.h. This file is the one place stb_image_write's
// implementation is compiled (STB_IMAGE_WRITE_IMPLEMENTATION), so every plot
// that links nova_example_plots shares it.
#include "examples/canvas.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "core/base/error.h"
#include "examples/bitmap_font.h"

namespace nova::examples {

Canvas::Canvas(int width, int height, Rgb background) : width_(width), height_(height) {
  NOVA_CHECK(width >= 1 && height >= 1 && width <= 16384 && height <= 16384,
             "Canvas: width and height must be in [1, 16384], got {} x {}", width, height);
  pixels_.resize(size_t(width) * height * 3);
  for (size_t i = 0; i < pixels_.size(); i += 3) {
    pixels_[i] = background.r;
    pixels_[i + 1] = background.g;
    pixels_[i + 2] = background.b;
  }
}

Rgb Canvas::pixel(int x, int y) const {
  NOVA_CHECK(x >= 0 && y >= 0 && x < width_ && y < height_, "Canvas::pixel: ({}, {}) is off the {} x {} canvas", x,
             y, width_, height_);
  const uint8_t* p = &pixels_[(size_t(y) * width_ + x) * 3];
  return {p[0], p[1], p[2]};
}

void Canvas::blend(int x, int y, Rgb c, double alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_) return;
  uint8_t* p = &pixels_[(size_t(y) * width_ + x) * 3];
  const double rgb[3] = {double(c.r), double(c.g), double(c.b)};
  for (int k = 0; k < 3; ++k) p[k] = uint8_t(std::lround(p[k] * (1 - alpha) + rgb[k] * alpha));
}

void Canvas::fill_rect(int x, int y, int w, int h, Rgb c, double alpha) {
  // clip first: a huge off-canvas rectangle costs nothing
  const int x0 = std::max(x, 0), y0 = std::max(y, 0);
  const int x1 = std::min(int64_t(x) + w, int64_t(width_)), y1 = std::min(int64_t(y) + h, int64_t(height_));
  for (int yy = y0; yy < y1; ++yy)
    for (int xx = x0; xx < x1; ++xx) blend(xx, yy, c, alpha);
}

void Canvas::hline(int x0, int x1, int y, Rgb c) {
  if (x1 < x0) std::swap(x0, x1);
  fill_rect(x0, y, x1 - x0 + 1, 1, c);
}

void Canvas::vline(int x, int y0, int y1, Rgb c) {
  if (y1 < y0) std::swap(y0, y1);
  fill_rect(x, y0, 1, y1 - y0 + 1, c);
}

void Canvas::line(int x0, int y0, int x1, int y1, Rgb c) {
  const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
  const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
  int err = dx + dy;
  for (;;) {
    blend(x0, y0, c);
    if (x0 == x1 && y0 == y1) return;
    const int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

void Canvas::frame(int x, int y, int w, int h, Rgb c) {
  if (w <= 0 || h <= 0) return;
  hline(x, x + w - 1, y, c);
  hline(x, x + w - 1, y + h - 1, c);
  vline(x, y, y + h - 1, c);
  vline(x + w - 1, y, y + h - 1, c);
}

int Canvas::text(int x, int y, std::string_view text, int scale, Rgb c) {
  namespace font = bitmap_font;
  NOVA_CHECK(scale >= 1, "Canvas::text: scale must be >= 1, got {}", scale);
  int pen = x;
  for (char ch : text) {
    const font::Glyph& g = font::glyph(ch);
    for (int row = 0; row < font::kGlyphHeight; ++row)
      for (int col = 0; col < font::kGlyphWidth; ++col)
        if (g.ink(col, row)) fill_rect(pen + col * scale, y + row * scale, scale, scale, c);
    pen += font::kAdvance * scale;
  }
  return font::text_width(text, scale);
}

void Canvas::write_png(const std::string& path, std::string_view op) const {
  NOVA_CHECK(stbi_write_png(path.c_str(), width_, height_, 3, pixels_.data(), width_ * 3) != 0,
             "{}: cannot write {} (does the folder exist and is it writable?)", op, path);
}

}  // namespace nova::examples
