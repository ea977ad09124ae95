// examples/figure_png.h: the thesis's Figure 2.6 as one PNG. For each method
// (a row: "baseline", "aw1", ...) a line of scatter panels, one per snapshot
// (every 5,000 steps in the thesis), of the generated samples over the
// mixture's centres, and under it a line of score panels: a bar per mode for
// the discriminator's mean raw score on real points of that mode (its logit;
// 1 - f for pgn, whose f_hat falls as f rises: nn::oriented_score). All score
// panels share one y range, so a glance compares the methods' discriminators
// as well as their samples. Labels use the built-in bitmap font, so the
// figure needs nothing beyond stb_image_write.
//
// Layout, left to right: a gutter with the row labels, then per snapshot a
// gap holding the score panel's y tick labels and a column `panel` pixels
// wide (scatter above, scores below, aligned). Top to bottom: the title band
// (the title wraps at spaces when wider than the figure), then per row
// "step N" above each scatter panel, the panel, its caption, the score panel
// (plot area, then the mode numbers 1..M under it). Text too wide for its
// place is drawn smaller, down to scale 1, then cut with "..". The exact
// rectangles are figure_layout's, which write_figure_png draws into.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "examples/canvas.h"
#include "examples/scatter_png.h"

namespace nova::examples {

struct FigureSnapshot {
  int64_t step = 0;                 // drawn as "step N" above the scatter panel
  Tensor points;                    // [n, 2] generated samples (any device, floating dtype)
  std::vector<double> mode_scores;  // D's mean raw score (nn::oriented_score) on real points of each mode (one per centre)
  std::string caption;              // e.g. "8/8 modes, hq 83%", drawn under the scatter panel
};

struct FigureRow {
  std::string label;  // "baseline", "aw1": drawn at the left of the row's scatter panels
  std::vector<FigureSnapshot> snapshots;
};

struct FigureOptions {
  int panel = 220;         // scatter panels are panel x panel pixels, score panels as wide: [64, 2048]
  int score_height = 150;  // score panel height in pixels, mode numbers included: [60, 2048]
  ScatterOptions scatter;  // extent, dots, rings of the scatter panels; its size is replaced by `panel`
  std::string title;       // drawn at the top; no title band when empty
};

// The score bars' colours (the test reads them back from the PNG).
inline constexpr Rgb kPositiveBar{46, 139, 87};  // sea green: D calls the mode's real points real
inline constexpr Rgb kNegativeBar{214, 84, 60};  // brick red: D calls them fake

/// A pixel rectangle: top-left (x, y), w x h.
struct PixelRect {
  int x = 0, y = 0, w = 0, h = 0;
};

/// Where write_figure_png draws what, for given inputs and options.
struct FigureLayout {
  int width = 0, height = 0;                    // of the whole PNG
  std::vector<std::vector<PixelRect>> scatter;  // [row][snapshot]: the scatter panel
  std::vector<std::vector<PixelRect>> scores;   // [row][snapshot]: the score plot area (bars and ticks)
  int modes = 0;                                // bars per score panel (centres' rows)
  double lo = 0, hi = 0, tick = 0;              // the shared y range (both ends are ticks) and the tick step
  int inset = 0;                                // rows kept free at a plot's top and bottom for value labels
  int value_scale = 0;                          // font scale of the bar values; 0: slots too narrow, none drawn
  int step_scale = 0, caption_scale = 0;        // font scales of "step N" and of the captions (all fit)
  std::vector<std::string> title_lines;         // the title broken at spaces to fit the width

  /// The number of tick steps from lo to hi (ticks are 0..tick_count()).
  int tick_count() const;
  /// The value of tick i: lo + i * tick.
  double tick_value(int i) const;
  /// The pixel row of score `v` (clamped to [lo, hi]) in score plot `plot`.
  int score_y(const PixelRect& plot, double v) const;
  /// The pixel column at the centre of mode `k`'s bar (k from 0) in `plot`.
  int bar_x(const PixelRect& plot, int k) const;
  /// The width in pixels of every bar in `plot`.
  int bar_width(const PixelRect& plot) const;
};

/// The layout write_figure_png uses: checks the inputs as it does (the same
/// errors, except bad `options.scatter`, which drawing finds) and places
/// every panel. The y range covers 0 and every finite score, widened to whole
/// tick steps; [-1, 1] when every finite score is 0 or none is finite.
FigureLayout figure_layout(const std::vector<FigureRow>& rows, const Tensor& centres,
                           const FigureOptions& options = {});

/// Writes Figure 2.6 to the PNG `path`: the title at the top; for each row a
/// line of scatter panels (one per snapshot, "step N" above each, the
/// caption under it; the row label at the left), and under it a line of
/// score panels: a bar per mode (modes 1..M on the x axis) from the zero line,
/// positive and negative in distinct colours, each bar's value printed
/// ("+1.2"; "nan" or "+inf" in place of a bar for a non-finite score), with
/// one y range shared by all score panels of the figure, the zero line and
/// y tick labels. Throws nova::Error on bad input (no rows or no snapshots,
/// rows with different snapshot counts, centres not [M, 2], points not
/// [n, 2], a mode_scores size other than M, options out of range) and when
/// the file cannot be written (the message names the path).
void write_figure_png(const std::string& path, const std::vector<FigureRow>& rows, const Tensor& centres,
                      const FigureOptions& options = {});

}  // namespace nova::examples
