#include "osd.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "font.h"

namespace trtd {

namespace {

const Rgb kPalette[] = {
    {230, 25, 75},  {60, 180, 75},  {255, 225, 25}, {0, 130, 200},   {245, 130, 48}, {145, 30, 180},
    {70, 240, 240}, {240, 50, 230}, {210, 245, 60}, {250, 190, 212}, {0, 128, 128},  {170, 110, 40},
};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

class Canvas {
 public:
  Canvas(uint8_t* pixels, int width, int height, FrameFormat format)
      : px_(pixels), w_(width), h_(height), format_(format), bpp_(static_cast<size_t>(packedBytesPerPixel(format))) {}

  // Fills [x0,x1) x [y0,y1), clipped to the frame. On an I420 frame the chroma of every 2x2 block
  // the rectangle touches takes the colour too.
  void fill(int x0, int y0, int x1, int y1, Rgb c) { paint(x0, y0, x1, y1, c, true); }

  // As fill, but on an I420 frame only the luma changes: text strokes one pixel wide keep the
  // colour of the label under them instead of greying whole 2x2 blocks.
  void ink(int x0, int y0, int x1, int y1, Rgb c) { paint(x0, y0, x1, y1, c, false); }

  int width() const { return w_; }
  int height() const { return h_; }

 private:
  void paint(int x0, int y0, int x1, int y1, Rgb c, bool chroma) {
    x0 = std::max(x0, 0);
    y0 = std::max(y0, 0);
    x1 = std::min(x1, w_);
    y1 = std::min(y1, h_);
    if (x1 <= x0 || y1 <= y0) return;
    if (format_ == FrameFormat::I420) {
      paintI420(x0, y0, x1, y1, c, chroma);
      return;
    }
    for (int y = y0; y < y1; ++y) {
      uint8_t* p = px_ + (static_cast<size_t>(y) * w_ + x0) * bpp_;
      for (int x = x0; x < x1; ++x, p += bpp_) {
        p[0] = c.r;
        p[1] = c.g;
        p[2] = c.b;
      }
    }
  }

  void paintI420(int x0, int y0, int x1, int y1, Rgb c, bool chroma) {
    uint8_t yuv[3];
    rgbToYuv(c.r, c.g, c.b, yuv);
    for (int y = y0; y < y1; ++y) {
      std::fill_n(px_ + static_cast<size_t>(y) * w_ + x0, x1 - x0, yuv[0]);
    }
    if (!chroma) return;
    const size_t cw = static_cast<size_t>(chromaSize(w_));
    uint8_t* u = px_ + static_cast<size_t>(w_) * h_;
    uint8_t* v = u + cw * static_cast<size_t>(chromaSize(h_));
    const int cx0 = x0 / 2;
    const int cx1 = (x1 + 1) / 2;
    for (int cy = y0 / 2; cy < (y1 + 1) / 2; ++cy) {
      std::fill_n(u + static_cast<size_t>(cy) * cw + cx0, cx1 - cx0, yuv[1]);
      std::fill_n(v + static_cast<size_t>(cy) * cw + cx0, cx1 - cx0, yuv[2]);
    }
  }

  uint8_t* px_;
  int w_;
  int h_;
  FrameFormat format_;
  size_t bpp_;
};

// Pixel bounds of a box, clipped: [left,right) x [top,bottom). False when nothing is visible.
bool pixelBounds(const DrawBox& b, int w, int h, int& left, int& top, int& right, int& bottom) {
  if (!std::isfinite(b.x1) || !std::isfinite(b.y1) || !std::isfinite(b.x2) || !std::isfinite(b.y2)) return false;
  const double lo = -1e6;
  const double hi = 1e6;
  left = static_cast<int>(std::floor(std::min(std::max(std::min(b.x1, b.x2), lo), hi)));
  right = static_cast<int>(std::ceil(std::min(std::max(std::max(b.x1, b.x2), lo), hi)));
  top = static_cast<int>(std::floor(std::min(std::max(std::min(b.y1, b.y2), lo), hi)));
  bottom = static_cast<int>(std::ceil(std::min(std::max(std::max(b.y1, b.y2), lo), hi)));
  left = std::max(left, 0);
  top = std::max(top, 0);
  right = std::min(right, w);
  bottom = std::min(bottom, h);
  return right > left && bottom > top;
}

void drawText(Canvas& canvas, int x, int y, const std::string& text, int scale, Rgb colour) {
  const int advance = (kGlyphWidth + 1) * scale;
  for (size_t i = 0; i < text.size(); ++i) {
    const int gx = x + static_cast<int>(i) * advance;
    if (gx >= canvas.width()) break;
    for (int row = 0; row < kGlyphHeight; ++row) {
      const uint8_t bits = glyphRow(text[i], row);
      if (!bits) continue;
      for (int col = 0; col < kGlyphWidth; ++col) {
        if (bits & (1u << (kGlyphWidth - 1 - col))) {
          const int px = gx + col * scale;
          const int py = y + row * scale;
          canvas.ink(px, py, px + scale, py + scale, colour);
        }
      }
    }
  }
}

void drawLabel(Canvas& canvas, const OsdStyle& style, int left, int top, const std::string& text, Rgb bg) {
  const int advance = (kGlyphWidth + 1) * style.fontScale;
  const int labelH = kGlyphHeight * style.fontScale + 2 * style.padding;
  // Characters that fit across the frame; the rest is cut.
  const int maxChars = std::max(0, (canvas.width() - 2 * style.padding + style.fontScale) / advance);
  const std::string shown = text.substr(0, static_cast<size_t>(std::min<int>(maxChars, static_cast<int>(text.size()))));
  if (shown.empty()) return;
  const int labelW = static_cast<int>(shown.size()) * advance - style.fontScale + 2 * style.padding;

  int x = std::min(left, canvas.width() - labelW);
  x = std::max(x, 0);
  int y = top - labelH;  // above the box
  if (y < 0) y = top;    // no room: just inside the top edge
  if (y + labelH > canvas.height()) y = canvas.height() - labelH;
  y = std::max(y, 0);

  canvas.fill(x, y, x + labelW, y + labelH, bg);
  const double luma = 0.299 * bg.r + 0.587 * bg.g + 0.114 * bg.b;
  const Rgb ink = luma > 140 ? Rgb{0, 0, 0} : Rgb{255, 255, 255};
  drawText(canvas, x + style.padding, y + style.padding, shown, style.fontScale, ink);
}

}  // namespace

OsdStyle osdStyleFor(int width, int height) {
  const int shorter = std::min(width, height);
  OsdStyle s;
  s.thickness = shorter <= 720 ? 2 : std::max(3, static_cast<int>(std::lround(shorter / 360.0)));
  s.fontScale = std::min(4, std::max(1, static_cast<int>(std::lround(shorter / 480.0))));
  s.padding = 2 * s.fontScale;
  return s;
}

Rgb classColour(int classId) {
  const int i = std::abs(classId % kPaletteSize);
  return kPalette[i];
}

void drawBoxes(uint8_t* pixels, int width, int height, const std::vector<DrawBox>& boxes, FrameFormat format) {
  Canvas canvas(pixels, width, height, format);
  const OsdStyle style = osdStyleFor(width, height);
  // All frames first, then all labels, so a neighbour's box never paints over a label.
  for (const DrawBox& b : boxes) {
    int left, top, right, bottom;
    if (!pixelBounds(b, width, height, left, top, right, bottom)) continue;
    const Rgb c = classColour(b.classId);
    const int t = style.thickness;
    canvas.fill(left, top, right, std::min(top + t, bottom), c);
    canvas.fill(left, std::max(bottom - t, top), right, bottom, c);
    canvas.fill(left, top, std::min(left + t, right), bottom, c);
    canvas.fill(std::max(right - t, left), top, right, bottom, c);
  }
  for (const DrawBox& b : boxes) {
    int left, top, right, bottom;
    if (b.text.empty() || !pixelBounds(b, width, height, left, top, right, bottom)) continue;
    drawLabel(canvas, style, left, top, b.text, classColour(b.classId));
  }
}

}  // namespace trtd
