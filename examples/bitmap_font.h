// examples/bitmap_font.h: a small built-in bitmap font for the PNG plots'
// labels (step numbers, captions, bar values, tick labels), so the plots need
// no font file and no font library. Glyphs are 5 columns by 9 rows: capitals
// and digits fill rows 0-6 (row 6 is the baseline), lowercase letters have a
// 5-row x-height and use rows 7-8 for descenders. Every pixel is scaled up by
// an integer factor when drawn (Canvas::text), so one table serves all sizes.
// Covers digits, A-Z, a-z, space and + - . , : ; / ( ) [ ] = % _ # < > ! ? ' * |;
// any other character (each byte of a UTF-8 one) is drawn as a box, so a
// missing glyph shows instead of vanishing.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace nova::examples::bitmap_font {

constexpr int kGlyphWidth = 5;   // columns of ink per glyph
constexpr int kGlyphHeight = 9;  // rows per glyph, descenders included
constexpr int kAscent = 7;       // rows above and on the baseline (capital height)
constexpr int kAdvance = 6;      // columns from one glyph to the next (one blank column)

/// One glyph: row r is rows[r], bit (kGlyphWidth - 1 - c) set when column c
/// is ink (so the row reads like its picture, leftmost column highest).
struct Glyph {
  std::array<uint8_t, kGlyphHeight> rows{};
  bool ink(int column, int row) const { return (rows[size_t(row)] >> (kGlyphWidth - 1 - column)) & 1; }
  bool operator==(const Glyph& other) const { return rows == other.rows; }
  bool operator!=(const Glyph& other) const { return rows != other.rows; }
};

/// Whether `c` has a glyph of its own (otherwise it draws as box_glyph()).
bool has_glyph(char c);

/// The glyph of `c`, or box_glyph() when the font does not cover it.
const Glyph& glyph(char c);

/// The glyph of every uncovered character: a hollow 5 x 7 rectangle.
const Glyph& box_glyph();

/// Every covered character, in table order (the font test walks it).
const std::string& covered_characters();

/// Width in pixels of `text` drawn at `scale`: the last glyph's trailing
/// blank column is not counted, so centring is exact. 0 for "".
int text_width(std::string_view text, int scale);

/// Height in pixels of one line at `scale`, descenders included.
inline int text_height(int scale) { return kGlyphHeight * scale; }

}  // namespace nova::examples::bitmap_font
