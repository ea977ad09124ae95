// examples/line_plot_png.h: line plots as PNG, for the image-GAN studies of
// thesis Figures 2.4 (angles between gradients per iteration) and 2.5 (mean
// D scores per iteration): panels stacked top to bottom, each with its
// series drawn as lines against the iteration, a legend, the y range's
// ends and optional reference lines (90 degrees) labelled at the left.
#pragma once

#include <string>
#include <vector>

#include "examples/canvas.h"

namespace nova::examples {

struct LineSeries {
  std::string label;
  std::vector<double> y;  // one value per iteration 1, 2, ...; NaN leaves a gap
  Rgb color;
};

struct LinePanel {
  std::string title;
  std::vector<LineSeries> series;
  std::vector<double> reference_lines;  // horizontal dashed lines (e.g. 90 for angles)
};

/// Writes the panels as one PNG at `path` (panel_width x panel_height each,
/// stacked). The y range of a panel covers its values and reference lines.
/// Throws nova::Error for no panels, an empty series, or an unwritable path.
void write_line_plot_png(const std::string& path, const std::vector<LinePanel>& panels, int panel_width = 720,
                         int panel_height = 240);

}  // namespace nova::examples
