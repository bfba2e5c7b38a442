// trt-detect's own bitmap font: 5x9 cells (7 rows above the baseline, 2 for descenders),
// printable ASCII 32..126. Anything else draws as '?'.
#pragma once

#include <cstdint>

namespace trtd {

constexpr int kGlyphWidth = 5;
constexpr int kGlyphHeight = 9;

// Bits of one glyph row; bit (kGlyphWidth - 1 - x) is column x (leftmost = highest bit).
uint8_t glyphRow(char c, int row);

}  // namespace trtd
