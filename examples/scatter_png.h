// examples/scatter_png.h: a minimal scatter plot written as a PNG, for the
// 8-Gaussian GAN's snapshots (Figure 2.6, rows 1 and 3): generated samples as
// small translucent blue dots (so dense clusters read darker) drawn over the
// mixture's centres (red rings), on a fixed square axis range with a grey
// frame and axes through the origin. No title, no legend, no tick labels: the
// file name says what it is (Figure 2.6 as a whole, labels included, is
// figure_png.h, which places these panels in a grid with draw_scatter).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/tensor.h"
#include "examples/canvas.h"

namespace nova::examples {

struct ScatterOptions {
  int size = 320;         // width and height in pixels
  double extent = 1.5;    // both axes span [-extent, extent] (the unit ring plus a margin)
  int dot_radius = 1;     // samples are (2r+1) x (2r+1) squares
  double dot_alpha = 0.35;  // opacity of one sample dot
  int marker_radius = 6;  // pixel radius of the ring around each centre
};

/// Draws the scatter of `points` [n, 2] over `centres` [modes, 2] into
/// `canvas` as an options.size square panel whose top-left pixel is
/// (left, top); nothing is drawn outside that square, so neighbouring panels
/// stay clean. Points outside the axis range, NaN or infinite are not drawn.
/// Returns the number of points drawn. Throws nova::Error on bad shapes or
/// options; `op` starts the message (the caller's own name).
int64_t draw_scatter(Canvas& canvas, int left, int top, const Tensor& points, const Tensor& centres,
                     const ScatterOptions& options = {}, std::string_view op = "draw_scatter");

/// Writes `points` [n, 2] (samples) over `centres` [modes, 2] to a PNG at
/// `path` (RGB). Points outside the axis range, NaN or infinite are not drawn.
/// Returns the number of points drawn. Throws nova::Error on bad shapes or
/// options, or when the file cannot be written (the message names the path).
int64_t write_scatter_png(const std::string& path, const Tensor& points, const Tensor& centres,
                          const ScatterOptions& options = {});

}  // namespace nova::examples
