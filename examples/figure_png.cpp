// examples/figure_png.cpp: see figure_png.h. figure_layout checks the inputs
// and computes every rectangle and the shared y range first, so that
// write_figure_png only draws: what is drawn and where it is drawn can then
// be tested separately, and a bad input throws before anything is written.
#include "examples/figure_png.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>

#include "core/base/error.h"
#include "examples/bitmap_font.h"

namespace nova::examples {

namespace {

namespace font = bitmap_font;

constexpr const char* kOp = "write_figure_png";
constexpr int kMargin = 12;
constexpr int kTitleScale = 3, kLabelScale = 2, kSmallScale = 1;
constexpr int kStepBand = 6 + font::kAscent * kLabelScale;       // "step N" above a scatter panel
constexpr int kCaptionBand = 8 + font::kGlyphHeight * kLabelScale;  // caption under a scatter panel
constexpr int kModeBand = 5 + font::kGlyphHeight * kSmallScale;   // mode numbers under a score plot
constexpr int kRowGap = 2 * kMargin;
constexpr int kTitlePitch = font::kGlyphHeight * kTitleScale + 3;  // from one title line to the next
const char* const kScoreLegend[] = {"mean D", "logit"};  // left of each row's score panels

const Rgb kInk{40, 40, 40}, kMuted{110, 110, 110}, kFrame{200, 200, 200}, kGrid{234, 234, 234},
    kZero{80, 80, 80};

/// "+1.2", "-12", "+3e4", "0.0"; "nan", "+inf", "-inf" for non-finite scores.
/// At most 4 characters for finite values below 1e10, so 8 labels fit a 220-pixel panel.
std::string value_label(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  const double a = std::abs(v);
  if (a < 0.05) return "0.0";
  if (a < 9.95) return fmt::format("{:+.1f}", v);
  if (a < 999.5) return fmt::format("{:+.0f}", v);
  int e = int(std::floor(std::log10(a)));
  double m = std::round(v / std::pow(10.0, e));
  if (std::abs(m) >= 10) m /= 10, ++e;  // 9.7e3 rounds to 10e3: write 1e4
  return fmt::format("{:+.0f}e{}", m, e);
}

/// What is drawn above a scatter panel.
std::string step_label(int64_t step) { return fmt::format("step {}", step); }

/// A tick value with the decimals its step needs ("0.5", "-2", "0").
std::string tick_label(double v, double tick) {
  if (std::abs(v) < tick * 1e-6) return "0";
  if (std::abs(v) >= 1e5) return fmt::format("{:.0e}", v);
  const int decimals = std::clamp(int(-std::floor(std::log10(tick) + 1e-9)), 0, 6);
  return fmt::format("{:.{}f}", v, decimals);
}

/// 1, 2 or 5 times a power of ten, the smallest at least `x` (> 0).
double nice_step(double x) {
  const double p = std::pow(10.0, std::floor(std::log10(x)));
  const double m = x / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

/// Text drawn at the largest scale up to `preferred` whose width is at most
/// `max_width`; cut and ended in ".." at scale 1 when even that is too wide.
struct Fitted {
  std::string text;
  int scale;
  int width() const { return font::text_width(text, scale); }
};

Fitted fit(std::string_view text, int max_width, int preferred) {
  for (int s = preferred; s >= 1; --s)
    if (font::text_width(text, s) <= max_width) return {std::string(text), s};
  std::string cut(text);
  while (!cut.empty() && font::text_width(cut + "..", 1) > max_width) cut.pop_back();
  return {cut + "..", 1};
}

/// The largest scale up to `preferred` at which every one of `texts` is at
/// most `max_width` wide (1 when none is), so that alike labels share a size.
int common_scale(const std::vector<std::string>& texts, int max_width, int preferred) {
  int s = preferred;
  for (const std::string& t : texts)
    while (s > 1 && font::text_width(t, s) > max_width) --s;
  return s;
}

/// `text` broken at spaces into lines at most `max_width` wide at `scale`; a
/// word wider than that is a line of its own (fit shrinks it when drawn).
std::vector<std::string> wrap(std::string_view text, int max_width, int scale) {
  std::vector<std::string> lines;
  std::string line;
  for (size_t i = 0; i < text.size();) {
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    const std::string word(text.substr(i, end - i));
    i = end + 1;
    if (word.empty()) continue;
    if (line.empty()) {
      line = word;
    } else if (font::text_width(line + " " + word, scale) <= max_width) {
      line += " " + word;
    } else {
      lines.push_back(line);
      line = word;
    }
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

/// Draws `t` centred on column `cx` with its top at `y`.
void draw_centred(Canvas& canvas, int cx, int y, const Fitted& t, Rgb c) {
  canvas.text(cx - t.width() / 2, y, t.text, t.scale, c);
}

void check_inputs(const std::vector<FigureRow>& rows, const Tensor& centres, const FigureOptions& options) {
  NOVA_CHECK(!rows.empty(), "{}: no rows to draw", kOp);
  check_defined(kOp, centres, "centres");
  NOVA_CHECK(centres.dim() == 2 && centres.size(1) == 2 && centres.size(0) >= 1,
             "{}: centres must be [modes >= 1, 2], got {}", kOp, centres.shape().str());
  NOVA_CHECK(options.panel >= 64 && options.panel <= 2048 && options.score_height >= 60 &&
                 options.score_height <= 2048,
             "{}: bad options (panel {} in [64, 2048], score_height {} in [60, 2048])", kOp, options.panel,
             options.score_height);
  const size_t columns = rows[0].snapshots.size();
  const int64_t modes = centres.size(0);
  for (const FigureRow& row : rows) {
    NOVA_CHECK(!row.snapshots.empty(), "{}: row '{}' has no snapshots", kOp, row.label);
    NOVA_CHECK(row.snapshots.size() == columns,
               "{}: row '{}' has {} snapshots but row '{}' has {} (every row needs one per column)", kOp, row.label,
               row.snapshots.size(), rows[0].label, columns);
    for (const FigureSnapshot& s : row.snapshots) {
      NOVA_CHECK(s.points.defined() && s.points.dim() == 2 && s.points.size(1) == 2,
                 "{}: row '{}' step {}: points must be [n, 2], got {}", kOp, row.label, s.step,
                 s.points.defined() ? s.points.shape().str() : std::string("an undefined tensor"));
      NOVA_CHECK(int64_t(s.mode_scores.size()) == modes, "{}: row '{}' step {}: {} mode_scores for {} centres", kOp,
                 row.label, s.step, s.mode_scores.size(), modes);
    }
  }
}

}  // namespace

int FigureLayout::score_y(const PixelRect& plot, double v) const {
  const double t = (hi - std::clamp(v, lo, hi)) / (hi - lo);  // 0 at the top
  return plot.y + inset + int(std::lround(t * (plot.h - 1 - 2 * inset)));
}

int FigureLayout::tick_count() const { return int(std::lround((hi - lo) / tick)); }

double FigureLayout::tick_value(int i) const { return lo + i * tick; }

int FigureLayout::bar_x(const PixelRect& plot, int k) const {
  return plot.x + int(std::lround((k + 0.5) * plot.w / modes));
}

int FigureLayout::bar_width(const PixelRect& plot) const {
  return std::max(1, int(std::lround(0.55 * plot.w / modes)));
}

FigureLayout figure_layout(const std::vector<FigureRow>& rows, const Tensor& centres, const FigureOptions& options) {
  check_inputs(rows, centres, options);
  FigureLayout L;
  L.modes = int(centres.size(0));
  const int panel = options.panel, n_rows = int(rows.size()), n_cols = int(rows[0].snapshots.size());

  // the shared y range: 0 and every finite score, out to whole ticks
  double lo = 0, hi = 0;
  std::string widest_value;
  for (const FigureRow& row : rows)
    for (const FigureSnapshot& s : row.snapshots)
      for (double v : s.mode_scores) {
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
        const std::string label = value_label(v);
        if (label.size() > widest_value.size()) widest_value = label;
      }
  if (!(hi - lo > 0) || !std::isfinite(hi - lo)) lo = -1, hi = 1;
  L.tick = nice_step((hi - lo) / 5);  // 5 to 7 ticks: few enough to label, and the range overshoots little
  L.lo = std::floor(lo / L.tick + 1e-9) * L.tick;
  L.hi = std::ceil(hi / L.tick - 1e-9) * L.tick;

  // bar values at scale 2 where a mode's slot has room, else 1, else none
  const double slot = double(panel) / L.modes;
  L.value_scale = 0;
  for (int s = 2; s >= 1 && L.value_scale == 0; --s)
    if (font::text_width(widest_value, s) + 3 <= slot) L.value_scale = s;
  L.inset = 4 + font::kAscent * std::max(L.value_scale, 1);

  // widths: row-label gutter, then per column a tick-label gap and the panel
  int gutter = 0;
  for (const FigureRow& row : rows) gutter = std::max(gutter, font::text_width(row.label, kLabelScale));
  for (const char* line : kScoreLegend) gutter = std::max(gutter, font::text_width(line, kSmallScale));
  gutter += 2 * kMargin;
  int tick_gap = 0;
  for (int i = 0; i <= L.tick_count(); ++i)
    tick_gap = std::max(tick_gap, font::text_width(tick_label(L.tick_value(i), L.tick), kSmallScale));
  tick_gap = std::max(tick_gap + 10, kMargin + 4);
  L.width = gutter + n_cols * (tick_gap + panel) + kMargin;
  L.title_lines = wrap(options.title, L.width - 2 * kMargin, kTitleScale);
  const int n_title = int(L.title_lines.size());
  const int title_band =
      n_title == 0 ? kMargin : 2 * kMargin + font::kAscent * kTitleScale + (n_title - 1) * kTitlePitch;

  std::vector<std::string> steps, captions;
  for (const FigureRow& row : rows)
    for (const FigureSnapshot& s : row.snapshots) {
      steps.push_back(step_label(s.step));
      captions.push_back(s.caption);
    }
  L.step_scale = common_scale(steps, panel, kLabelScale);
  L.caption_scale = common_scale(captions, panel, kLabelScale);

  const int row_block = kStepBand + panel + kCaptionBand + options.score_height;
  L.height = title_band + n_rows * row_block + (n_rows - 1) * kRowGap + kMargin;
  NOVA_CHECK(L.width <= 16384 && L.height <= 16384,
             "{}: the figure would be {} x {} pixels, more than 16384 a side (use fewer snapshots or a smaller "
             "panel)",
             kOp, L.width, L.height);
  for (int r = 0; r < n_rows; ++r) {
    const int top = title_band + r * (row_block + kRowGap);
    L.scatter.emplace_back();
    L.scores.emplace_back();
    for (int c = 0; c < n_cols; ++c) {
      const int x = gutter + tick_gap + c * (tick_gap + panel);
      L.scatter.back().push_back({x, top + kStepBand, panel, panel});
      L.scores.back().push_back(
          {x, top + kStepBand + panel + kCaptionBand, panel, options.score_height - kModeBand});
    }
  }
  return L;
}

namespace {

/// One score panel: grid and tick labels, bars, zero line, values, mode numbers.
void draw_scores(Canvas& canvas, const FigureLayout& L, const PixelRect& plot, const std::vector<double>& scores) {
  for (int i = 0; i <= L.tick_count(); ++i) {
    const double v = L.tick_value(i);
    const int y = L.score_y(plot, v);
    canvas.hline(plot.x + 1, plot.x + plot.w - 2, y, kGrid);
    canvas.hline(plot.x - 3, plot.x - 1, y, kMuted);
    const std::string label = tick_label(v, L.tick);
    canvas.text(plot.x - 5 - font::text_width(label, kSmallScale), y - font::kAscent * kSmallScale / 2, label,
                kSmallScale, kMuted);
  }
  canvas.frame(plot.x, plot.y, plot.w, plot.h, kFrame);

  const int zero = L.score_y(plot, 0), width = L.bar_width(plot);
  for (int k = 0; k < L.modes; ++k) {
    const double v = scores[size_t(k)];
    const int cx = L.bar_x(plot, k);
    if (!std::isfinite(v)) continue;  // labelled below, no bar
    const int y = L.score_y(plot, v);
    canvas.fill_rect(cx - width / 2, std::min(y, zero), width, std::abs(y - zero) + 1,
                     v >= 0 ? kPositiveBar : kNegativeBar);
  }
  canvas.hline(plot.x + 1, plot.x + plot.w - 2, zero, kZero);  // over the bars' feet

  const double slot = double(plot.w) / L.modes;
  for (int k = 0; k < L.modes; ++k) {
    const double v = scores[size_t(k)];
    const int cx = L.bar_x(plot, k);
    const int s = std::isfinite(v) ? L.value_scale : std::max(L.value_scale, 1);  // "nan" shows regardless
    if (s == 0) continue;
    const Fitted label{value_label(v), s};
    const int y = L.score_y(plot, std::isfinite(v) ? v : 0);
    // above a bar that goes up (or a missing one), below one that goes down
    const bool above = !std::isfinite(v) || y <= zero;
    draw_centred(canvas, cx, above ? y - 3 - font::kAscent * s : y + 3, label, std::isfinite(v) ? kInk : kMuted);
  }
  // mode numbers 1..M; every n-th one when the slots are too narrow for all
  const int stride = int(std::ceil((font::text_width(std::to_string(L.modes), kSmallScale) + 3) / slot));
  for (int k = 0; k < L.modes; k += std::max(stride, 1))
    draw_centred(canvas, L.bar_x(plot, k), plot.y + plot.h + 4, {std::to_string(k + 1), kSmallScale}, kMuted);
}

}  // namespace

void write_figure_png(const std::string& path, const std::vector<FigureRow>& rows, const Tensor& centres,
                      const FigureOptions& options) {
  const FigureLayout L = figure_layout(rows, centres, options);
  Canvas canvas(L.width, L.height);
  for (size_t i = 0; i < L.title_lines.size(); ++i)
    draw_centred(canvas, L.width / 2, kMargin + int(i) * kTitlePitch,
                 fit(L.title_lines[i], L.width - 2 * kMargin, kTitleScale), {0, 0, 0});
  ScatterOptions scatter = options.scatter;
  scatter.size = options.panel;
  const int gutter_right = L.scatter[0][0].x - kMargin;  // the row labels live left of this
  for (size_t r = 0; r < rows.size(); ++r) {
    const PixelRect& first = L.scatter[r][0];
    const Fitted label = fit(rows[r].label, gutter_right - kMargin, kLabelScale);
    canvas.text(kMargin, first.y + first.h / 2 - font::kAscent * label.scale / 2, label.text, label.scale, kInk);
    const PixelRect& first_plot = L.scores[r][0];
    const int legend_h = int(std::size(kScoreLegend)) * (font::kGlyphHeight + 2);
    for (size_t i = 0; i < std::size(kScoreLegend); ++i)
      canvas.text(kMargin, first_plot.y + first_plot.h / 2 - legend_h / 2 + int(i) * (font::kGlyphHeight + 2),
                  kScoreLegend[i], kSmallScale, kMuted);

    for (size_t c = 0; c < rows[r].snapshots.size(); ++c) {
      const FigureSnapshot& snap = rows[r].snapshots[c];
      const PixelRect& sp = L.scatter[r][c];
      const int cx = sp.x + sp.w / 2;
      const Fitted step = fit(step_label(snap.step), sp.w, L.step_scale);
      draw_centred(canvas, cx, sp.y - 4 - font::kAscent * step.scale, step, kInk);
      draw_scatter(canvas, sp.x, sp.y, snap.points, centres, scatter, kOp);
      if (!snap.caption.empty())
        draw_centred(canvas, cx, sp.y + sp.h + 5, fit(snap.caption, sp.w, L.caption_scale), kInk);
      draw_scores(canvas, L, L.scores[r][c], snap.mode_scores);
    }
  }
  canvas.write_png(path, kOp);
}

}  // namespace nova::examples
